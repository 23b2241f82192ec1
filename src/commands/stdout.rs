//! Standard output for every command, with a closed pipe handled once here:
//! `deskaudit graph | head` stops writing quietly instead of panicking in
//! `println!`, while a real write error (a full disk under `> file`) is
//! still an error.

use std::io::{self, Write};

/// `io::stdout()` that treats a reader gone away (EPIPE) as the end of the
/// output: that write and every later one succeed without writing.
pub struct Stdout(io::Stdout);

/// The guarded standard output.
pub fn stdout() -> Stdout {
    Stdout(io::stdout())
}

fn closed(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if closed(&e) => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.0.flush() {
            Err(e) if closed(&e) => Ok(()),
            other => other,
        }
    }
}

/// `println!` through [`stdout`], as `Result<(), Failure>`.
macro_rules! say {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(
            &mut $crate::commands::stdout::stdout(),
            format_args!("{}\n", format_args!($($arg)*)),
        )
        .map_err(|e| $crate::commands::Failure::output($crate::commands::context("stdout", e)))
    };
}
pub(crate) use say;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_the_end_of_output_not_an_error() {
        assert!(closed(&io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(!closed(&io::Error::from(io::ErrorKind::StorageFull)));
    }
}
