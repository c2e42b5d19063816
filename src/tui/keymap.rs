//! The keymap (`assets/keymap.toml`), resolved by context: a text editor takes typed characters,
//! a view's own section comes before `list` and `global`. The help screen lists exactly these.

use super::action::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

pub const KEYMAP_TOML: &str = include_str!("../../assets/keymap.toml");

/// Where the key was pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Normal,
    Triage,
    AllowList,
    Editor,
    Finder,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl Keymap {
    pub fn builtin() -> Result<Self, toml::de::Error> {
        Ok(Keymap {
            sections: toml::from_str(KEYMAP_TOML)?,
        })
    }

    /// The keymap with the config file's bindings over it (`[keys.<section>]`, key = action).
    #[must_use]
    pub fn with_overrides(
        mut self,
        keys: &BTreeMap<String, BTreeMap<String, crate::config::Setting<String>>>,
    ) -> Self {
        for (section, bound) in keys {
            let m = self.sections.entry(section.clone()).or_default();
            for (k, v) in bound {
                m.insert(k.clone(), v.value.clone());
            }
        }
        self
    }

    fn lookup(&self, section: &str, key: &str) -> Option<Action> {
        self.sections
            .get(section)?
            .get(key)
            .and_then(|n| Action::from_name(n))
    }

    /// The action for a key press in a context.
    pub fn resolve(&self, ctx: Context, ev: KeyEvent) -> Option<Action> {
        let key = key_name(ev)?;
        match ctx {
            Context::Editor | Context::Finder => {
                if let Some(a) = self.lookup("editor", &key) {
                    return Some(a);
                }
                return match ev.code {
                    KeyCode::Char(c)
                        if !ev
                            .modifiers
                            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
                    {
                        Some(Action::Input(c))
                    }
                    KeyCode::Enter if ctx == Context::Editor => Some(Action::Newline),
                    KeyCode::Enter => Some(Action::Open),
                    KeyCode::Tab => Some(Action::Right),
                    _ => None,
                };
            }
            Context::Triage => self.lookup("triage", &key),
            Context::AllowList => self.lookup("allowlist", &key),
            Context::Normal => None,
        }
        .or_else(|| self.lookup("list", &key))
        .or_else(|| self.lookup("global", &key))
    }

    /// (section, key, action name) for the help screen.
    pub fn bindings(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for section in ["global", "list", "triage", "allowlist", "editor"] {
            if let Some(m) = self.sections.get(section) {
                for (k, v) in m {
                    out.push((section.to_string(), k.clone(), v.clone()));
                }
            }
        }
        out
    }

    /// The key bound to an action for hints in the status bar: the shortest (`q` before
    /// `ctrl-c`), then the first in key order.
    pub fn key_for(&self, action: &str) -> Option<&str> {
        self.sections
            .values()
            .flat_map(|m| m.iter())
            .filter(|(_, v)| v.as_str() == action)
            .map(|(k, _)| k.as_str())
            .min_by_key(|k| k.chars().count())
    }
}

/// A key press as the keymap spells it.
pub fn key_name(ev: KeyEvent) -> Option<String> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let name = match ev.code {
        KeyCode::Left if ctrl => "ctrl-left".into(),
        KeyCode::Right if ctrl => "ctrl-right".into(),
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) if ctrl => format!("ctrl-{}", c.to_ascii_lowercase()),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Delete => "delete".into(),
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_quits_and_cancels_an_edit() {
        let km = Keymap::builtin().unwrap();
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(matches!(
            km.resolve(Context::Normal, ctrl_c),
            Some(Action::Quit)
        ));
        assert!(matches!(
            km.resolve(Context::Editor, ctrl_c),
            Some(Action::Cancel)
        ));
        assert_eq!(
            km.key_for("quit"),
            Some("q"),
            "the status bar keeps `q quit`"
        );
    }

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn every_binding_names_a_real_action() {
        let km = Keymap::builtin().unwrap();
        for (section, key, name) in km.bindings() {
            assert!(
                Action::from_name(&name).is_some(),
                "[{section}] {key} = {name}"
            );
            assert!(
                !Action::describe(&name).is_empty(),
                "{name} has no description"
            );
        }
    }

    #[test]
    fn context_decides() {
        let km = Keymap::builtin().unwrap();
        assert!(matches!(
            km.resolve(Context::Normal, k(KeyCode::Char('j'))),
            Some(Action::Down)
        ));
        assert!(matches!(
            km.resolve(Context::Editor, k(KeyCode::Char('j'))),
            Some(Action::Input('j'))
        ));
        assert!(matches!(
            km.resolve(Context::Editor, k(KeyCode::Esc)),
            Some(Action::Cancel)
        ));
        assert!(matches!(
            km.resolve(Context::Triage, k(KeyCode::Char(' '))),
            Some(Action::ToggleStep)
        ));
        assert!(matches!(
            km.resolve(Context::Normal, k(KeyCode::Char('q'))),
            Some(Action::Quit)
        ));
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert!(matches!(
            km.resolve(Context::Editor, ctrl_s),
            Some(Action::Save)
        ));
    }
}

#[cfg(test)]
mod override_tests {
    use super::*;

    #[test]
    fn the_config_file_rebinds_keys() {
        let c = crate::config::parse(
            "[keys.global]\n\"ctrl-f\" = \"find\"\nm = \"pivot_image\"\n",
            std::path::Path::new("c.toml"),
            &|n| Action::from_name(n).is_some(),
        )
        .unwrap();
        let km = Keymap::builtin().unwrap().with_overrides(&c.keys);
        let ctrl_f = KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL);
        assert!(matches!(
            km.resolve(Context::Normal, ctrl_f),
            Some(Action::Find)
        ));
        let m = KeyEvent::new(KeyCode::Char('m'), KeyModifiers::NONE);
        assert!(matches!(
            km.resolve(Context::Normal, m),
            Some(Action::Pivot(crate::pivot::PivotField::Image))
        ));
        // The help screen lists what is bound now.
        assert!(
            km.bindings()
                .iter()
                .any(|(s, k, a)| s == "global" && k == "ctrl-f" && a == "find")
        );
    }
}
