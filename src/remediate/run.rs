//! A run directory's remediation, read back by `diff`: the outcome, when it
//! belongs to the plan made from this very run.

use sha2::{Digest, Sha256};

use super::RemediateError;
use super::outcome::{OUTCOME_JSON, Remediation};
use super::plan::{PLAN_JSON, Plan};
use crate::rundir::{DECISIONS_JSON, RunDir};

/// `remediation.json` of `run`, if its plan was applied; refused when the
/// plan or the outcome belongs to another run or plan.
pub fn read_outcome(run: &RunDir) -> Result<Option<Remediation>, RemediateError> {
    let outcome_path = run.dir.join(OUTCOME_JSON);
    let bytes = match std::fs::read(&outcome_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RemediateError::Io {
                file: outcome_path.display().to_string(),
                source,
            });
        }
    };
    let file = outcome_path.display().to_string();
    let remediation: Remediation = serde_json::from_slice(&bytes).map_err(|e| RemediateError::Parse {
        file: file.clone(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    let plan_path = run.dir.join(PLAN_JSON);
    let plan_file = plan_path.display().to_string();
    let plan_bytes = std::fs::read(&plan_path).map_err(|source| RemediateError::Io {
        file: plan_file.clone(),
        source,
    })?;
    let plan = Plan::parse(&plan_file, &plan_bytes)?;
    let decisions = std::fs::read(run.dir.join(DECISIONS_JSON)).unwrap_or_default();
    if let Some(why) = plan.foreign_to(run, &hex::encode(Sha256::digest(&decisions))) {
        return Err(RemediateError::Plan {
            file: plan_file,
            reason: format!("does not belong to this run: {why}"),
        });
    }
    if remediation.plan_id != plan.plan_id {
        return Err(RemediateError::Plan {
            file,
            reason: format!(
                "the outcome of plan {}, not of this run's plan {}",
                remediation.plan_id, plan.plan_id
            ),
        });
    }
    Ok(Some(remediation))
}
