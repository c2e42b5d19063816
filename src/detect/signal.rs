//! The correlation types a chain completes: what the base score counts and names. One enum, so
//! a signal is never a misspelt string; its name is what findings and the score breakdown show.

/// A completed correlation. The order (derived) is the order of the names, as findings list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    /// Sentinel correlation 3: a network logon of the installer's logon id before the service.
    LogonServiceProcess,
    /// A network logon joined to the install (logon id, or SID and time).
    LogonThenService,
    /// A tool's named pipe or remote service-control pipe.
    PipeEvidence,
    /// What the service ran (a process under services.exe, the service binary).
    ServiceThenProcess,
    /// The helper written over SMB before the install.
    ShareThenService,
    /// A step of the hunt guide (1-9).
    HuntStep(u8),
    /// A lateral tool run on a source host that names the target.
    ToolServiceProcess,
}

impl Signal {
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow::Borrowed;
        match self {
            Signal::LogonServiceProcess => Borrowed("logon_service_process"),
            Signal::LogonThenService => Borrowed("logon_then_service"),
            Signal::PipeEvidence => Borrowed("pipe_evidence"),
            Signal::ServiceThenProcess => Borrowed("service_then_process"),
            Signal::ShareThenService => Borrowed("share_then_service"),
            Signal::HuntStep(n) => std::borrow::Cow::Owned(format!("step {n}")),
            Signal::ToolServiceProcess => Borrowed("tool_service_process"),
        }
    }

    /// The hunt guide's step a `step N: ...` label names.
    pub fn hunt_step(label: &str) -> Option<Signal> {
        let n = label.strip_prefix("step ")?.split(':').next()?.trim();
        n.parse()
            .ok()
            .filter(|n| (1..=9).contains(n))
            .map(Signal::HuntStep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_the_order_of_the_names() {
        let all = [
            Signal::LogonServiceProcess,
            Signal::LogonThenService,
            Signal::PipeEvidence,
            Signal::ServiceThenProcess,
            Signal::ShareThenService,
            Signal::HuntStep(1),
            Signal::HuntStep(6),
            Signal::ToolServiceProcess,
        ];
        for w in all.windows(2) {
            assert!(w[0] < w[1] && w[0].name() < w[1].name(), "{w:?}");
        }
        assert_eq!(
            Signal::hunt_step("step 5: tool pipe"),
            Some(Signal::HuntStep(5))
        );
        assert_eq!(Signal::hunt_step("step x"), None);
    }
}
