//! Maps and sets for the handful of entries the agent keeps by id (requests and tool calls in
//! flight, pending governance checks): a vector searched linearly. For a few entries that is
//! as fast as hashing, and each instance costs a fraction of a `HashMap`'s or `BTreeMap`'s
//! code in the .wasm (which has neither std's `HashMap` nor room for another B-tree).

#[allow(unused_imports)]
use crate::prelude::*;
use core::borrow::Borrow;

/// A map of few entries, in insertion order (removal swaps the last entry in).
#[derive(Debug, Clone)]
pub struct SmallMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> SmallMap<K, V> {
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position<Q: PartialEq + ?Sized>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        self.entries.iter().position(|(k, _)| k.borrow() == key)
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V>
    where
        K: PartialEq,
    {
        match self.position(&key) {
            Some(i) => Some(core::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    pub fn get<Q: PartialEq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut<Q: PartialEq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key<Q: PartialEq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.position(key).is_some()
    }

    pub fn remove<Q: PartialEq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.position(key).map(|i| self.entries.swap_remove(i).1)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn into_keys(self) -> impl Iterator<Item = K> {
        self.entries.into_iter().map(|(k, _)| k)
    }

    pub fn into_values(self) -> impl Iterator<Item = V> {
        self.entries.into_iter().map(|(_, v)| v)
    }

    /// Keeps the entries for which `f` says yes.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| f(k, v));
    }
}

/// Maps are equal when they hold the same entries, in any order.
impl<K: PartialEq, V: PartialEq> PartialEq for SmallMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = alloc::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// A set of few members.
#[derive(Debug, Clone, Default)]
pub struct SmallSet<T> {
    map: SmallMap<T, ()>,
}

impl<T: PartialEq> SmallSet<T> {
    pub const fn new() -> Self {
        Self {
            map: SmallMap::new(),
        }
    }

    /// Adds `value`; whether it was new.
    pub fn insert(&mut self, value: T) -> bool {
        self.map.insert(value, ()).is_none()
    }

    pub fn contains<Q: PartialEq + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.map.contains_key(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn behaves_as_a_hash_map() {
        // The same operations on both, from a fixed pseudo-random sequence.
        let mut ours: SmallMap<u64, u64> = SmallMap::new();
        let mut theirs: HashMap<u64, u64> = HashMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = x % 12;
            match x % 5 {
                0 | 1 => assert_eq!(ours.insert(key, step), theirs.insert(key, step)),
                2 => assert_eq!(ours.remove(&key), theirs.remove(&key)),
                3 => {
                    if let (Some(a), Some(b)) = (ours.get_mut(&key), theirs.get_mut(&key)) {
                        *a += 1;
                        *b += 1;
                    }
                }
                _ => assert_eq!(ours.get(&key), theirs.get(&key)),
            }
            assert_eq!(ours.len(), theirs.len());
            assert_eq!(ours.contains_key(&key), theirs.contains_key(&key));
        }
        let mut a: Vec<_> = ours.into_iter().collect();
        let mut b: Vec<_> = theirs.into_iter().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn borrowed_keys_and_sets() {
        let mut m: SmallMap<String, i32> = SmallMap::new();
        m.insert("a".into(), 1);
        m.insert("b".into(), 2);
        assert_eq!(m.get("b"), Some(&2));
        assert_eq!(m.remove("a"), Some(1));
        assert!(!m.contains_key("a"));
        let mut other: SmallMap<String, i32> = SmallMap::new();
        other.insert("b".into(), 2);
        assert_eq!(m, other);
        other.insert("c".into(), 3);
        assert_ne!(m, other);
        m.insert("c".into(), 3);
        let mut reordered: SmallMap<String, i32> = SmallMap::new();
        reordered.insert("c".into(), 3);
        reordered.insert("b".into(), 2);
        assert_eq!(m, reordered);
        reordered.insert("b".into(), 4);
        assert_ne!(m, reordered);
        m.retain(|_, v| *v < 2);
        assert!(m.is_empty());

        let mut s: SmallSet<String> = SmallSet::new();
        assert!(s.insert("x".into()));
        assert!(!s.insert("x".into()));
        assert!(s.contains("x"));
        assert!(!s.contains("y"));
    }
}
