//! The mouse (on unless the config file says `mouse = false`): the wheel scrolls the pane under
//! the pointer, a click focuses the pane and selects the row under it, a click on the tab bar
//! (80x24) switches panes. Where things are is computed from the state, as rendering lays them
//! out; nothing is remembered from the last frame.

use super::action::Mouse;
use super::panes::{areas, status_rows, targets::window_start, targets_width};
use super::state::{AppState, Pane};
use ratatui::layout::{Position, Rect};

/// Rows the wheel moves per notch.
const WHEEL: i64 = 3;

/// The panes on screen and where: side by side, or the focused one under the tab bar.
fn panes(s: &AppState) -> (Vec<(Pane, Rect)>, Option<Rect>) {
    let layout = areas(
        Rect::new(0, 0, s.ui.width, s.ui.height),
        status_rows(s, s.ui.width),
        targets_width(s, s.ui.width),
    );
    match layout.wide {
        Some([left, top, bottom]) => (
            vec![
                (Pane::Targets, left),
                (Pane::Timeline, top),
                (Pane::Inspector, bottom),
            ],
            None,
        ),
        None => (vec![(s.ui.focus, layout.narrow[1])], Some(layout.narrow[0])),
    }
}

/// Applies a mouse event at `(col, row)`; returns the rows to move the focused list by (the
/// update moves them as the keys do), or `None` when nothing more is to be done.
pub fn apply(s: &mut AppState, what: Mouse, col: u16, row: u16) -> Option<i64> {
    let at = Position::new(col, row);
    if s.ui.modal.is_some() {
        // Over a view the wheel moves in it; clicks are for the keys.
        return match what {
            Mouse::WheelUp => Some(-1),
            Mouse::WheelDown => Some(1),
            Mouse::Click => None,
        };
    }
    let (on_screen, tabs) = panes(s);
    if let (Some(bar), Mouse::Click) = (tabs, what)
        && bar.contains(at)
    {
        // " Targets " " Timeline " " Inspector ", a space between.
        let x = col.saturating_sub(bar.x);
        s.ui.focus = match x {
            0..=9 => Pane::Targets,
            10..=20 => Pane::Timeline,
            _ => Pane::Inspector,
        };
        return None;
    }
    let (pane, rect) = on_screen.into_iter().find(|(_, r)| r.contains(at))?;
    s.ui.focus = pane;
    match what {
        Mouse::WheelUp => Some(-WHEEL),
        Mouse::WheelDown => Some(WHEEL),
        Mouse::Click => {
            click(s, pane, rect, row);
            None
        }
    }
}

/// Selects the row under a click (the border and the Targets header are not rows).
fn click(s: &mut AppState, pane: Pane, rect: Rect, row: u16) {
    let inner_top = rect.y + 1;
    let height = usize::from(rect.height.saturating_sub(2));
    if row < inner_top || row >= rect.y + rect.height.saturating_sub(1) {
        return;
    }
    let line = usize::from(row - inner_top);
    match pane {
        Pane::Targets => {
            let Some(line) = line.checked_sub(1) else {
                return;
            };
            let i = window_start(s.ui.target_sel, height.saturating_sub(1)) + line;
            if i < s.targets.len() {
                s.select_target_row(i);
            }
        }
        Pane::Timeline => {
            if let Some(p) = s.ui.pivots.last_mut() {
                let i = window_start(p.sel, height) + line;
                if i < p.findings.len() + p.events.len() {
                    p.sel = i;
                }
            } else {
                let i = window_start(s.ui.timeline_sel, height) + line;
                if i < s.timeline_rows().len() {
                    s.ui.timeline_sel = i;
                }
            }
        }
        // The Inspector is text: a click focuses it.
        Pane::Inspector => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::action::Action;
    use crate::tui::tests::{corpus_state, select_target};
    use crate::tui::update::update;

    fn at(s: &mut AppState, what: Mouse, col: u16, row: u16) {
        update(s, Action::Mouse { what, col, row });
    }

    #[test]
    fn wheel_scrolls_the_pane_under_the_pointer_and_a_click_selects() {
        let mut s = corpus_state();
        update(&mut s, Action::Resize(200, 60));
        select_target(&mut s, "PC01");
        update(&mut s, Action::ToggleAllEvents);
        let (_, rects) = (0, panes(&s).0);
        let timeline = rects.iter().find(|(p, _)| *p == Pane::Timeline).unwrap().1;
        let targets = rects.iter().find(|(p, _)| *p == Pane::Targets).unwrap().1;
        // The wheel over the Timeline moves its selection, whatever had focus.
        s.ui.focus = Pane::Targets;
        at(&mut s, Mouse::WheelDown, timeline.x + 5, timeline.y + 3);
        assert_eq!(s.ui.focus, Pane::Timeline);
        assert_eq!(s.ui.timeline_sel, 3);
        at(&mut s, Mouse::WheelUp, timeline.x + 5, timeline.y + 3);
        assert_eq!(s.ui.timeline_sel, 0);
        // A click on the fifth row of the Timeline selects it.
        at(&mut s, Mouse::Click, timeline.x + 5, timeline.y + 1 + 4);
        assert_eq!(s.ui.timeline_sel, 4);
        // A click on the second host of Targets (below the header) selects that host.
        at(&mut s, Mouse::Click, targets.x + 3, targets.y + 1 + 1 + 1);
        assert_eq!(s.ui.focus, Pane::Targets);
        assert_eq!(s.ui.target_sel, 1);
        // The border is not a row.
        at(&mut s, Mouse::Click, targets.x + 3, targets.y);
        assert_eq!(s.ui.target_sel, 1);
    }

    #[test]
    fn at_80x24_the_tab_bar_switches_panes() {
        let mut s = corpus_state();
        update(&mut s, Action::Resize(80, 24));
        at(&mut s, Mouse::Click, 12, 0);
        assert_eq!(s.ui.focus, Pane::Timeline);
        at(&mut s, Mouse::Click, 25, 0);
        assert_eq!(s.ui.focus, Pane::Inspector);
        at(&mut s, Mouse::Click, 2, 0);
        assert_eq!(s.ui.focus, Pane::Targets);
        // The wheel in the one pane shown moves its list.
        at(&mut s, Mouse::WheelDown, 10, 5);
        assert_eq!(s.ui.target_sel, 3.min(s.targets.len() - 1));
    }
}
