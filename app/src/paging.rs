//! Keyset paging, shared by the lists that page (the catalog by topic name, the approvals queue
//! by last change and id): a page starts after a row's key or ends before one, and a query reads
//! one row more than a page to know whether another page follows. Nothing is counted.

/// Which page of a list: the first, the one after a key, or the one before a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Cursor<K> {
    #[default]
    First,
    After(K),
    Before(K),
}

impl<K> Cursor<K> {
    /// The page a link names by `after` or `before`; none when it names both.
    pub fn from_link(after: Option<K>, before: Option<K>) -> Option<Self> {
        match (after, before) {
            (None, None) => Some(Self::First),
            (Some(after), None) => Some(Self::After(after)),
            (None, Some(before)) => Some(Self::Before(before)),
            (Some(_), Some(_)) => None,
        }
    }

    /// The key a page starts after and the key it ends before, for the query's bounds.
    pub fn bounds(&self) -> (Option<&K>, Option<&K>) {
        match self {
            Self::First => (None, None),
            Self::After(key) => (Some(key), None),
            Self::Before(key) => (None, Some(key)),
        }
    }

    /// Where the next page starts and the previous one ends, from this page's first and last
    /// keys (in list order) and whether the query found a row beyond the page.
    pub fn neighbours(
        &self,
        first: Option<K>,
        last: Option<K>,
        more: bool,
    ) -> (Option<K>, Option<K>) {
        match self {
            Self::First => (last.filter(|_| more), None),
            Self::After(_) => (last.filter(|_| more), first),
            Self::Before(_) => (last, first.filter(|_| more)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_names_one_boundary_at_most() {
        assert_eq!(Cursor::<u8>::from_link(None, None), Some(Cursor::First));
        assert_eq!(Cursor::from_link(Some(1), None), Some(Cursor::After(1)));
        assert_eq!(Cursor::from_link(None, Some(2)), Some(Cursor::Before(2)));
        assert_eq!(Cursor::from_link(Some(1), Some(2)), None);
    }

    #[test]
    fn the_pages_beside_follow_the_direction_read() {
        // A full first page with more after it: only a next page.
        assert_eq!(
            Cursor::First.neighbours(Some(1), Some(50), true),
            (Some(50), None)
        );
        // The last page, reached forwards: only a previous page.
        assert_eq!(
            Cursor::After(100).neighbours(Some(101), Some(120), false),
            (None, Some(101))
        );
        // The first page, reached backwards: only a next page.
        assert_eq!(
            Cursor::Before(51).neighbours(Some(1), Some(50), false),
            (Some(50), None)
        );
        assert_eq!(
            Cursor::Before(101).neighbours(Some(51), Some(100), true),
            (Some(100), Some(51))
        );
    }
}
