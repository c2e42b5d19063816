//! `Group<T>`: a group of optional typed fields kept behind a pointer only once something in it is
//! set. An event fills one or two of its field groups; the others cost one word instead of their
//! size, which is most of what a kept event costs when millions are loaded.
//!
//! Reading an empty group gives a shared empty value, so `event.fields.service.name` reads the
//! same whether or not the group was ever filled; writing through it allocates the group.

use serde::{Serialize, Serializer};
use std::ops::{Deref, DerefMut};

/// A value with a shared, immutable empty instance.
pub trait Empty: Default + 'static {
    fn empty() -> &'static Self;
}

/// Implements `Empty` for a struct whose fields are all `Option`s.
macro_rules! empty_struct {
    ($t:ty { $($f:ident),* $(,)? }) => {
        impl $crate::model::group::Empty for $t {
            fn empty() -> &'static Self {
                static EMPTY: $t = <$t>::EMPTY_VALUE;
                &EMPTY
            }
        }
        impl $t {
            const EMPTY_VALUE: $t = Self { $($f: None),* };
        }
    };
}
pub(crate) use empty_struct;

#[derive(Clone, Default)]
pub struct Group<T>(Option<Box<T>>);

impl<T: Empty + PartialEq> Group<T> {
    /// The group holding `value`, stored only when something in it is set.
    pub fn filled(value: T) -> Self {
        if &value == T::empty() {
            Group(None)
        } else {
            value.into()
        }
    }
}

impl<T: Empty> Deref for Group<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(v) => v,
            None => T::empty(),
        }
    }
}

impl<T: Empty> DerefMut for Group<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Empty> From<T> for Group<T> {
    fn from(value: T) -> Self {
        Group(Some(Box::new(value)))
    }
}

impl<T: Empty + PartialEq> PartialEq for Group<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Empty + Eq> Eq for Group<T> {}

/// As equality: by the fields (an empty group hashes as a missing one).
impl<T: Empty + std::hash::Hash> std::hash::Hash for Group<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<T: Empty + std::fmt::Debug> std::fmt::Debug for Group<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Empty + Serialize> Serialize for Group<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Eq, Serialize)]
    struct Pair {
        a: Option<u32>,
        b: Option<Box<str>>,
    }
    empty_struct!(Pair { a, b });

    #[test]
    fn reads_empty_until_written() {
        let mut g: Group<Pair> = Group::default();
        assert!(g.0.is_none());
        assert_eq!(g.a, None);
        assert_eq!(g, Group::from(Pair::default()));
        g.a = Some(3);
        assert!(g.0.is_some());
        assert_eq!(g.a, Some(3));
        assert_eq!(serde_json::to_string(&g).unwrap(), r#"{"a":3,"b":null}"#);
        assert_eq!(
            std::mem::size_of::<Group<Pair>>(),
            std::mem::size_of::<usize>()
        );
        // `filled` stores a group only when something in it is set.
        assert!(Group::filled(Pair::default()).0.is_none());
        let set = Group::filled(Pair {
            a: Some(1),
            b: None,
        });
        assert_eq!(set.a, Some(1));
        assert!(set.0.is_some());
    }
}
