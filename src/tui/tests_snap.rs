//! Whole-screen snapshots of every pane and overlay at 80x24 and 200x60, on a small demo case
//! generated here (synthetic, deterministic). A change to what a pane shows shows up as a
//! snapshot difference, reviewed like code (`cargo insta review`), never accepted in bulk.

use super::action::Action;
use super::state::{AppState, InspectorTab, Pane};
use super::tests::{color, drive, screen, state_of};
use crate::investigation::Evidence;

/// The workbench on a small demo: 8 hosts, 1 day, a little benign noise.
fn demo_state() -> AppState {
    let case = crate::demo::generate(&crate::demo::DemoOptions {
        hosts: 8,
        days: 1,
        noise_per_day: 12,
        ..crate::demo::DemoOptions::default()
    });
    state_of(Evidence::Demo(Box::new(case)))
}

/// Snapshots of the screen at both sizes, named after the scenario.
fn snap(scenario: &str, s: &AppState) {
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let (text, _) = screen(s, w, h, color());
        insta::assert_snapshot!(format!("{scenario}__{w}x{h}"), text);
    }
}

/// The top target's timeline, on the chain's second event.
fn on_chain_event(s: &mut AppState) {
    drive(s, Action::Open);
    drive(s, Action::Down);
}

#[test]
fn targets_pane_demo_ranked() {
    snap("targets_pane__demo_ranked", &demo_state());
}

#[test]
fn timeline_pane_chain_of_the_top_target() {
    let mut s = demo_state();
    on_chain_event(&mut s);
    assert_eq!(s.ui.focus, Pane::Timeline);
    snap("timeline_pane__chain_of_the_top_target", &s);
}

#[test]
fn timeline_pane_all_events_of_the_host() {
    let mut s = demo_state();
    on_chain_event(&mut s);
    drive(&mut s, Action::ToggleAllEvents);
    snap("timeline_pane__all_events_of_the_host", &s);
}

#[test]
fn inspector_every_tab_on_a_chain_event() {
    for (tab, name) in [
        (InspectorTab::Detail, "detail"),
        (InspectorTab::Raw, "raw"),
        (InspectorTab::Score, "score"),
        (InspectorTab::Triage, "triage"),
        (InspectorTab::Notes, "notes"),
        (InspectorTab::Coverage, "coverage"),
    ] {
        let mut s = demo_state();
        on_chain_event(&mut s);
        drive(&mut s, Action::Open);
        drive(&mut s, Action::Tab(tab));
        snap(&format!("inspector__{name}_tab"), &s);
    }
}

#[test]
fn pivot_pane_the_account_of_the_event() {
    let mut s = demo_state();
    on_chain_event(&mut s);
    drive(&mut s, Action::Pivot(crate::pivot::PivotField::User));
    assert!(!s.ui.pivots.is_empty(), "a pivot is open");
    snap("pivot_pane__the_account_of_the_event", &s);
}

#[test]
fn overlays_hops_help_finder_allow_list() {
    let mut s = demo_state();
    drive(&mut s, Action::Hops);
    snap("overlay__hops", &s);
    let mut s = demo_state();
    drive(&mut s, Action::Help);
    snap("overlay__help", &s);
    let mut s = demo_state();
    drive(&mut s, Action::Find);
    for c in "psexe".chars() {
        drive(&mut s, Action::Input(c));
    }
    snap("overlay__finder_with_a_query", &s);
    let mut s = demo_state();
    drive(&mut s, Action::Allow);
    snap("overlay__allow_list_entry_editor", &s);
    let mut s = demo_state();
    drive(&mut s, Action::AllowList);
    snap("overlay__allow_list", &s);
}
