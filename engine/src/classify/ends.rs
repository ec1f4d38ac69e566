//! The two ends of a sequence a log can make as long as it likes.

use std::collections::VecDeque;

/// The first `HEAD` and the last `TAIL` items of a sequence, and how many between were left
/// out: what a traceback keeps of its lines and of its chain of exceptions, so that a log
/// cannot make it hold memory without bound.
#[derive(Clone, Debug)]
pub(super) struct Ends<T, const HEAD: usize, const TAIL: usize> {
    head: Vec<T>,
    tail: VecDeque<T>,
    left_out: usize,
}

impl<T, const HEAD: usize, const TAIL: usize> Default for Ends<T, HEAD, TAIL> {
    fn default() -> Self {
        Ends {
            head: Vec::new(),
            tail: VecDeque::new(),
            left_out: 0,
        }
    }
}

impl<T, const HEAD: usize, const TAIL: usize> Ends<T, HEAD, TAIL> {
    /// The sequence of `item` alone.
    pub(super) fn of(item: T) -> Self {
        let mut ends = Self::default();
        ends.push(item);
        ends
    }

    /// Adds `item` at the end; returns the item it leaves out, once the ends are full.
    pub(super) fn push(&mut self, item: T) -> Option<T> {
        if self.head.len() < HEAD {
            self.head.push(item);
            return None;
        }
        self.tail.push_back(item);
        if self.tail.len() <= TAIL {
            return None;
        }
        self.left_out += 1;
        self.tail.pop_front()
    }

    /// How many items were left out between the ends.
    pub(super) fn left_out(&self) -> usize {
        self.left_out
    }

    pub(super) fn last(&self) -> Option<&T> {
        self.tail.back().or(self.head.last())
    }

    pub(super) fn last_mut(&mut self) -> Option<&mut T> {
        self.tail.back_mut().or(self.head.last_mut())
    }

    /// The items kept, in order.
    pub(super) fn into_vec(self) -> Vec<T> {
        let mut items = self.head;
        items.extend(self.tail);
        items
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Ends;

    proptest! {
        /// The ends hold the first 3 and the last 4 of any sequence, in order, and count the
        /// rest; what is left out is returned, in order.
        #[test]
        fn the_ends_are_the_first_and_last_items(count in 0usize..40) {
            let mut ends: Ends<usize, 3, 4> = Ends::default();
            let mut left_out = Vec::new();
            for i in 0..count {
                left_out.extend(ends.push(i));
            }
            let kept: Vec<usize> = if count <= 7 {
                (0..count).collect()
            } else {
                (0..3).chain(count - 4..count).collect()
            };
            let expected: Vec<usize> = (0..count).filter(|i| !kept.contains(i)).collect();
            prop_assert_eq!(ends.left_out(), expected.len());
            prop_assert_eq!(ends.last().copied(), count.checked_sub(1));
            prop_assert_eq!(left_out, expected);
            prop_assert_eq!(ends.into_vec(), kept);
        }
    }
}
