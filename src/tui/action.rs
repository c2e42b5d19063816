//! Every intent the workbench understands. Bindable actions have a name used by the keymap;
//! internal ones (loading progress, results) are not bindable.

use super::state::Investigation;
use crate::detect::allowlist::AllowField;

pub use crate::pivot::PivotField;

#[derive(Debug)]
pub enum Action {
    Quit,
    Help,
    Find,
    FocusNext,
    FocusPrev,
    NextFinding,
    PrevFinding,
    Tab(super::state::InspectorTab),
    ToggleAllEvents,
    ToggleSuppressed,
    CycleZone,
    Hops,
    Allow,
    AllowList,
    RemoveAllow,
    EditFindingNote,
    EditCaseNote,
    EditStepNote,
    ToggleStep,
    Export,
    Pivot(PivotField),
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    /// Text typed into an open editor or finder.
    Input(char),
    Backspace,
    Newline,
    Left,
    Right,
    Save,
    Cancel,
    Resize(u16, u16),
    // Internal, not bindable:
    Progress {
        files_done: usize,
        files_total: usize,
    },
    /// What loading is doing once the files are read (correlating, indexing).
    Phase(String),
    /// Findings of the first files, shown while the rest loads.
    Partial {
        inv: Box<Investigation>,
        files_shown: usize,
        files_total: usize,
    },
    Loaded(Box<Investigation>),
    LoadFailed(String),
    Saved(Result<String, String>),
    Exported(Result<String, String>),
}

impl Action {
    /// The action a keymap name stands for.
    pub fn from_name(name: &str) -> Option<Action> {
        use super::state::InspectorTab as T;
        Some(match name {
            "quit" => Action::Quit,
            "help" => Action::Help,
            "find" => Action::Find,
            "focus_next" => Action::FocusNext,
            "focus_prev" => Action::FocusPrev,
            "next_finding" => Action::NextFinding,
            "prev_finding" => Action::PrevFinding,
            "tab_detail" => Action::Tab(T::Detail),
            "tab_raw" => Action::Tab(T::Raw),
            "tab_score" => Action::Tab(T::Score),
            "tab_triage" => Action::Tab(T::Triage),
            "tab_notes" => Action::Tab(T::Notes),
            "tab_coverage" => Action::Tab(T::Coverage),
            "toggle_all_events" => Action::ToggleAllEvents,
            "toggle_suppressed" => Action::ToggleSuppressed,
            "cycle_zone" => Action::CycleZone,
            "hops" => Action::Hops,
            "allow" => Action::Allow,
            "allowlist" => Action::AllowList,
            "remove_allow" => Action::RemoveAllow,
            "edit_finding_note" => Action::EditFindingNote,
            "edit_case_note" => Action::EditCaseNote,
            "edit_step_note" => Action::EditStepNote,
            "toggle_step" => Action::ToggleStep,
            "export" => Action::Export,
            "pivot_user" => Action::Pivot(PivotField::User),
            "pivot_source_ip" => Action::Pivot(PivotField::SourceIp),
            "pivot_source_host" => Action::Pivot(PivotField::SourceHost),
            "pivot_logon_id" => Action::Pivot(PivotField::LogonId),
            "pivot_service" => Action::Pivot(PivotField::Service),
            "pivot_image" => Action::Pivot(PivotField::Image),
            "pivot_command_line" => Action::Pivot(PivotField::CommandLine),
            "pivot_parent_image" => Action::Pivot(PivotField::ParentImage),
            "back" => Action::Back,
            "up" => Action::Up,
            "down" => Action::Down,
            "page_up" => Action::PageUp,
            "page_down" => Action::PageDown,
            "top" => Action::Top,
            "bottom" => Action::Bottom,
            "open" => Action::Open,
            "save" => Action::Save,
            "cancel" => Action::Cancel,
            _ => return None,
        })
    }

    /// One-line description for the help screen.
    pub fn describe(name: &str) -> &'static str {
        match name {
            "quit" => "quit (everything is already saved)",
            "help" => "this help",
            "find" => "fuzzy-find a host, user, service or IP",
            "focus_next" => "next pane",
            "focus_prev" => "previous pane",
            "next_finding" => "next finding of the target",
            "prev_finding" => "previous finding of the target",
            "tab_detail" => "inspector: event fields",
            "tab_raw" => "inspector: raw record",
            "tab_score" => "inspector: score breakdown",
            "tab_triage" => "inspector: triage steps",
            "tab_notes" => "inspector: notes",
            "tab_coverage" => "inspector: what the target's logs can and cannot show",
            "toggle_all_events" => "timeline: chain only / all host events around it",
            "toggle_suppressed" => "show or hide suppressed findings",
            "cycle_zone" => "show times in UTC / local / the --tz zone",
            "hops" => "hops: source -> target graph",
            "allow" => "allow-list the selected finding (choose field, give a reason)",
            "allowlist" => "allow-list entries of this case",
            "remove_allow" => "remove the selected allow-list entry",
            "edit_finding_note" => "edit the finding's note",
            "edit_case_note" => "edit the case note",
            "edit_step_note" => "note on the selected triage step",
            "toggle_step" => "triage step: todo -> done -> n/a",
            "export" => "export case notes (Markdown + JSON)",
            "pivot_user" => "pivot on the account",
            "pivot_source_ip" => "pivot on the source IP",
            "pivot_source_host" => "pivot on the source host",
            "pivot_logon_id" => "pivot on the logon id",
            "pivot_service" => "pivot on the service name",
            "pivot_image" => "pivot on the image path",
            "pivot_command_line" => "pivot on the command line",
            "pivot_parent_image" => "pivot on the parent image",
            "back" => "back (close view, pop pivot)",
            "up" => "up",
            "down" => "down",
            "page_up" => "page up",
            "page_down" => "page down",
            "top" => "first row",
            "bottom" => "last row",
            "open" => "open the selected row",
            "save" => "save the text",
            "cancel" => "cancel editing",
            _ => "",
        }
    }
}

/// Allow-list fields in the order the editor offers them.
pub const ALLOW_FIELDS: [AllowField; 6] = [
    AllowField::ServiceName,
    AllowField::ImagePath,
    AllowField::Account,
    AllowField::SourceHost,
    AllowField::SourceIp,
    AllowField::TargetHost,
];
