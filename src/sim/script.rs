//! Scripted faults on writes: a test says which write fails, how, and
//! whether before or after it took effect ("the first DELETE of agent X is
//! carried out, then the connection drops"), instead of hoping a random
//! fault lands there.

use std::sync::{Mutex, PoisonError};

use axum::http::StatusCode;

use super::faults::Fault;
use super::writes::Write;

/// The write a [`WriteFault`] matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMethod {
    /// `POST /api/v2/agents`
    Post,
    /// `PUT /api/v2/agents/{id}`
    Put,
    /// `DELETE /api/v2/agents/{id}`
    Delete,
    /// `PUT /api/v2/contacts/{id}/make_agent`
    MakeAgent,
}

/// When the fault strikes, relative to the change to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTiming {
    /// Nothing is changed: the request fails as if it never arrived.
    BeforeEffect,
    /// The change is made, then the answer is lost or replaced.
    AfterEffect,
}

/// How the answer fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFaultKind {
    /// The connection is closed before any byte of the answer.
    Drop,
    /// This status (e.g. 500, 503, 504) with an error body instead of the
    /// answer; a code outside 100..=999 is sent as 500.
    Status(u16),
}

/// One scripted fault, for `SimConfig::write_faults`. Faults are tried in
/// order; the first that matches a write and has `times` left is spent.
/// Only authenticated admin writes are matched (a 401, 403 or 429 is not a
/// write), whatever their answer would have been.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteFault {
    pub method: WriteMethod,
    /// The agent in the path; `None` matches any (`POST` names no agent, so
    /// only `None` matches it).
    pub agent_id: Option<u64>,
    pub when: FaultTiming,
    pub kind: WriteFaultKind,
    /// How many matching writes it hits.
    pub times: u32,
}

impl WriteFault {
    /// A fault that hits the first matching write only.
    pub fn once(
        method: WriteMethod,
        agent_id: Option<u64>,
        when: FaultTiming,
        kind: WriteFaultKind,
    ) -> WriteFault {
        WriteFault {
            method,
            agent_id,
            when,
            kind,
            times: 1,
        }
    }

    fn matches(&self, write: Write) -> bool {
        let method = match write {
            Write::Create => WriteMethod::Post,
            Write::Update(_) => WriteMethod::Put,
            Write::Delete(_) => WriteMethod::Delete,
            Write::MakeAgent(_) => WriteMethod::MakeAgent,
        };
        self.times > 0 && self.method == method && self.agent_id.is_none_or(|id| write.agent_id() == Some(id))
    }

    fn fault(&self) -> Fault {
        match self.kind {
            WriteFaultKind::Drop => Fault::ClosedBeforeResponse,
            WriteFaultKind::Status(code) => {
                Fault::Status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            }
        }
    }
}

/// The faults left to inject.
pub(crate) struct FaultScript {
    left: Mutex<Vec<WriteFault>>,
}

impl FaultScript {
    pub(crate) fn new(faults: Vec<WriteFault>) -> FaultScript {
        FaultScript {
            left: Mutex::new(faults),
        }
    }

    /// Spends the first fault that matches `write`, if any.
    pub(crate) fn take(&self, write: Write) -> Option<(Fault, FaultTiming)> {
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = left.iter_mut().find(|f| f.matches(write))?;
        fault.times -= 1;
        Some((fault.fault(), fault.when))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_spent_in_order_and_match_method_and_agent() {
        let script = FaultScript::new(vec![
            WriteFault {
                times: 2,
                ..WriteFault::once(
                    WriteMethod::Delete,
                    Some(7),
                    FaultTiming::AfterEffect,
                    WriteFaultKind::Drop,
                )
            },
            WriteFault::once(
                WriteMethod::Put,
                None,
                FaultTiming::BeforeEffect,
                WriteFaultKind::Status(503),
            ),
            WriteFault::once(
                WriteMethod::Post,
                None,
                FaultTiming::BeforeEffect,
                WriteFaultKind::Status(42),
            ),
        ]);
        let after_drop = Some((Fault::ClosedBeforeResponse, FaultTiming::AfterEffect));
        let unavailable = Some((
            Fault::Status(StatusCode::SERVICE_UNAVAILABLE),
            FaultTiming::BeforeEffect,
        ));
        let table = [
            (Write::Delete(8), None),
            (Write::Update(7), unavailable),
            (Write::Update(7), None),
            (Write::Delete(7), after_drop),
            (Write::Delete(7), after_drop),
            (Write::Delete(7), None),
            (
                Write::Create,
                Some((
                    Fault::Status(StatusCode::INTERNAL_SERVER_ERROR),
                    FaultTiming::BeforeEffect,
                )),
            ),
            (Write::Create, None),
        ];
        for (i, (write, expected)) in table.into_iter().enumerate() {
            assert_eq!(script.take(write), expected, "#{i} {write:?}");
        }
    }
}
