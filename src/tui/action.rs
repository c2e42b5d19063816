//! Every intent the workbench understands. Bindable actions have a name used by the keymap;
//! internal ones (loading progress, results) are not bindable.

use super::editor::EditKey;
use crate::detect::allowlist::AllowField;
use crate::investigation::Investigation;

pub use crate::pivot::PivotField;

#[derive(Debug)]
pub enum Action {
    Quit,
    Help,
    Find,
    /// `/`: search the focused pane; `n` / `N` the next and previous match.
    Search,
    SearchNext,
    SearchPrev,
    /// `:`: jump to a time in the timeline or pivot.
    JumpTime,
    /// `m`: mark (or unmark) the event under the cursor on the finding.
    Mark,
    FocusNext,
    FocusPrev,
    NextFinding,
    PrevFinding,
    Tab(InspectorTab),
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
    ExportFinding,
    /// Copy the value under the cursor (a command line, an event row, the finding).
    Copy,
    /// Copy the finding's indicators.
    CopyIocs,
    Pivot(PivotField),
    Back,
    Forward,
    Filter,
    ClearFilter,
    ScrollRight,
    ScrollLeft,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    /// Text typed into an open editor or finder.
    Input(char),
    /// Cursor movement or deletion in an open editor.
    Edit(super::editor::EditKey),
    /// Text pasted (bracketed paste) into an open editor.
    Paste(String),
    /// ctrl-z: the shell gets the terminal until `fg`.
    Suspend,
    Newline,
    /// Tab in the allow-list editor: the next field.
    Right,
    Save,
    Cancel,
    Resize(u16, u16),
    // Internal, not bindable:
    /// The mouse: the wheel or a click at a cell.
    Mouse {
        what: Mouse,
        col: u16,
        row: u16,
    },
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
    /// A followed collection (`open --follow`): files being read.
    LiveReading(String),
    /// A followed collection: the findings after more evidence landed, and what changed.
    Live(Box<LiveUpdate>),
    Saved(Result<String, String>),
    Exported(Result<String, String>),
    /// What a copy did (sent to the terminal's clipboard, written to a file), or why not.
    Copied(Result<String, String>),
    /// The record text of the event at this store index, read from the evidence (or why not).
    RecordRead {
        event: usize,
        text: Result<String, String>,
    },
}

/// Every bindable action: its keymap name, the action, and its line in the help screen. The one
/// definition of action names (the keymap, help and status bar read it).
type Bindable = (&'static str, fn() -> Action, &'static str);

const BINDABLE: &[Bindable] = &[
    (
        "quit",
        || Action::Quit,
        "quit (everything is already saved)",
    ),
    ("help", || Action::Help, "this help"),
    (
        "find",
        || Action::Find,
        "fuzzy-find a host, user, service or IP",
    ),
    (
        "search",
        || Action::Search,
        "search the focused pane (timeline, pivot, inspector, targets)",
    ),
    (
        "search_next",
        || Action::SearchNext,
        "next match of the search",
    ),
    (
        "search_prev",
        || Action::SearchPrev,
        "previous match of the search",
    ),
    (
        "jump_time",
        || Action::JumpTime,
        "jump to a time: 11:40, \"2020-08-27 11:40\" (in the zone shown)",
    ),
    (
        "mark",
        || Action::Mark,
        "mark the event under the cursor on the finding (listed in Notes, carried into the report)",
    ),
    ("focus_next", || Action::FocusNext, "next pane"),
    ("focus_prev", || Action::FocusPrev, "previous pane"),
    (
        "next_finding",
        || Action::NextFinding,
        "next finding of the target",
    ),
    (
        "prev_finding",
        || Action::PrevFinding,
        "previous finding of the target",
    ),
    (
        "tab_detail",
        || Action::Tab(InspectorTab::Detail),
        "inspector: event fields",
    ),
    (
        "tab_raw",
        || Action::Tab(InspectorTab::Raw),
        "inspector: raw record",
    ),
    (
        "tab_score",
        || Action::Tab(InspectorTab::Score),
        "inspector: score breakdown",
    ),
    (
        "tab_triage",
        || Action::Tab(InspectorTab::Triage),
        "inspector: triage steps",
    ),
    (
        "tab_notes",
        || Action::Tab(InspectorTab::Notes),
        "inspector: notes",
    ),
    (
        "tab_coverage",
        || Action::Tab(InspectorTab::Coverage),
        "inspector: what the target's logs can and cannot show",
    ),
    (
        "toggle_all_events",
        || Action::ToggleAllEvents,
        "timeline: chain only / all host events around it",
    ),
    (
        "toggle_suppressed",
        || Action::ToggleSuppressed,
        "show or hide suppressed findings",
    ),
    (
        "cycle_zone",
        || Action::CycleZone,
        "show times in UTC / local / the --tz zone",
    ),
    ("hops", || Action::Hops, "hops: source -> target graph"),
    (
        "allow",
        || Action::Allow,
        "allow-list the selected finding (choose field, give a reason)",
    ),
    (
        "allowlist",
        || Action::AllowList,
        "allow-list entries of this case",
    ),
    (
        "remove_allow",
        || Action::RemoveAllow,
        "remove the selected allow-list entry",
    ),
    (
        "edit_finding_note",
        || Action::EditFindingNote,
        "edit the finding's note",
    ),
    (
        "edit_case_note",
        || Action::EditCaseNote,
        "edit the case note",
    ),
    (
        "edit_step_note",
        || Action::EditStepNote,
        "note on the selected triage step",
    ),
    (
        "toggle_step",
        || Action::ToggleStep,
        "triage step: todo -> done -> n/a",
    ),
    (
        "export",
        || Action::Export,
        "export case notes (Markdown + JSON)",
    ),
    (
        "export_finding",
        || Action::ExportFinding,
        "export the selected finding's report (Markdown)",
    ),
    (
        "copy",
        || Action::Copy,
        "copy the command line, event row or finding under the cursor (OSC 52)",
    ),
    (
        "copy_iocs",
        || Action::CopyIocs,
        "copy the finding's indicators (hosts, IPs, accounts, services, paths, hashes)",
    ),
    (
        "pivot_user",
        || Action::Pivot(PivotField::User),
        "pivot on the account",
    ),
    (
        "pivot_source_ip",
        || Action::Pivot(PivotField::SourceIp),
        "pivot on the source IP",
    ),
    (
        "pivot_source_host",
        || Action::Pivot(PivotField::SourceHost),
        "pivot on the source host",
    ),
    (
        "pivot_logon_id",
        || Action::Pivot(PivotField::LogonId),
        "pivot on the logon id",
    ),
    (
        "pivot_service",
        || Action::Pivot(PivotField::Service),
        "pivot on the service name",
    ),
    (
        "pivot_image",
        || Action::Pivot(PivotField::Image),
        "pivot on the image path",
    ),
    (
        "pivot_command_line",
        || Action::Pivot(PivotField::CommandLine),
        "pivot on the command line",
    ),
    (
        "pivot_parent_image",
        || Action::Pivot(PivotField::ParentImage),
        "pivot on the parent image",
    ),
    (
        "back",
        || Action::Back,
        "back to where you came from (close a view, a pivot)",
    ),
    (
        "forward",
        || Action::Forward,
        "forward again (after going back)",
    ),
    (
        "filter",
        || Action::Filter,
        "filter: sev:high host: user: tool: src: svc: since: until: is:suppressed, free words",
    ),
    ("clear_filter", || Action::ClearFilter, "clear the filter"),
    (
        "scroll_right",
        || Action::ScrollRight,
        "timeline and pivot rows: scroll sideways to read long rows",
    ),
    ("scroll_left", || Action::ScrollLeft, "scroll back left"),
    ("up", || Action::Up, "up"),
    ("down", || Action::Down, "down"),
    ("page_up", || Action::PageUp, "page up"),
    ("page_down", || Action::PageDown, "page down"),
    ("top", || Action::Top, "first row"),
    ("bottom", || Action::Bottom, "last row"),
    ("open", || Action::Open, "open the selected row"),
    ("save", || Action::Save, "save the text (every editor)"),
    (
        "cancel",
        || Action::Cancel,
        "close the editor (asks first when the text changed)",
    ),
    (
        "suspend",
        || Action::Suspend,
        "suspend to the shell (fg returns)",
    ),
    (
        "cursor_left",
        || Action::Edit(EditKey::Left),
        "cursor left (in the allow-list editor: previous field)",
    ),
    (
        "cursor_right",
        || Action::Edit(EditKey::Right),
        "cursor right (in the allow-list editor: next field)",
    ),
    (
        "cursor_up",
        || Action::Edit(EditKey::Up),
        "cursor up a line",
    ),
    (
        "cursor_down",
        || Action::Edit(EditKey::Down),
        "cursor down a line",
    ),
    ("word_left", || Action::Edit(EditKey::WordLeft), "word left"),
    (
        "word_right",
        || Action::Edit(EditKey::WordRight),
        "word right",
    ),
    (
        "line_start",
        || Action::Edit(EditKey::Home),
        "start of the line",
    ),
    ("line_end", || Action::Edit(EditKey::End), "end of the line"),
    (
        "delete_back",
        || Action::Edit(EditKey::Backspace),
        "delete the character before the cursor",
    ),
    (
        "delete_char",
        || Action::Edit(EditKey::Delete),
        "delete the character under the cursor",
    ),
    (
        "delete_word",
        || Action::Edit(EditKey::DeleteWordBack),
        "delete the word before the cursor",
    ),
    (
        "delete_to_line_start",
        || Action::Edit(EditKey::DeleteToLineStart),
        "delete to the start of the line",
    ),
    (
        "delete_to_line_end",
        || Action::Edit(EditKey::DeleteToLineEnd),
        "delete to the end of the line",
    ),
];

impl Action {
    /// The action a keymap name stands for.
    pub fn from_name(name: &str) -> Option<Action> {
        BINDABLE.iter().find(|b| b.0 == name).map(|b| (b.1)())
    }

    /// One-line description for the help screen ("" for a name that is not an action).
    pub fn describe(name: &str) -> &'static str {
        BINDABLE.iter().find(|b| b.0 == name).map_or("", |b| b.2)
    }
}

/// What the mouse did (at a cell of the terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mouse {
    WheelUp,
    WheelDown,
    Click,
}

/// The inspector's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectorTab {
    Detail,
    Raw,
    Score,
    Triage,
    Notes,
    Coverage,
}

impl InspectorTab {
    pub const ALL: [InspectorTab; 6] = [
        InspectorTab::Detail,
        InspectorTab::Raw,
        InspectorTab::Score,
        InspectorTab::Triage,
        InspectorTab::Notes,
        InspectorTab::Coverage,
    ];
    pub fn label(self) -> &'static str {
        match self {
            InspectorTab::Detail => "1 Detail",
            InspectorTab::Raw => "2 Raw",
            InspectorTab::Score => "3 Score",
            InspectorTab::Triage => "4 Triage",
            InspectorTab::Notes => "5 Notes",
            InspectorTab::Coverage => "6 Coverage",
        }
    }
}

/// What an update asks the runtime to do (the I/O it may not do itself); the result comes back
/// as an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    SaveCase,
    Export,
    /// The selected finding's report alone.
    ExportFinding(String),
    /// Give the terminal to the shell until `fg` (ctrl-z).
    Suspend,
    /// Read the record text of the event at this store index from the evidence (the Raw tab).
    ReadRecord(usize),
    /// Put this text on the clipboard (OSC 52) and in a file beside the case; `what` names it
    /// for the status line.
    Copy {
        what: String,
        text: String,
    },
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

/// What an update of a followed collection brings the workbench.
#[derive(Debug)]
pub struct LiveUpdate {
    pub inv: Investigation,
    pub changes: Vec<crate::live::changes::Change>,
    /// What was read, for the status line.
    pub status: String,
}
