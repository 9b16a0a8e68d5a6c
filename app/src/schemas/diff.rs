//! A line-by-line comparison of two texts, laid out for a side-by-side view.
//!
//! Lines are matched by the longest common subsequence. Removed and added
//! lines that sit next to each other are paired into `Changed` rows so the
//! old and the new line appear on the same row. Texts longer than
//! [`MAX_LINES`] lines (after setting aside the lines they share at the
//! start and the end) are not matched line by line: the differing middle is
//! shown as changed rows instead.

use serde::{Deserialize, Serialize};

/// The most lines per side that are matched line by line.
pub const MAX_LINES: usize = 2000;

/// How a row of the side-by-side view differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// The same line on both sides.
    Same,
    /// A line only in the old text.
    Removed,
    /// A line only in the new text.
    Added,
    /// An old line replaced by a new one.
    Changed,
}

/// One row of the side-by-side view. Line numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffRow {
    /// Line number in the old text, if this row shows an old line.
    pub left_no: Option<usize>,
    /// The old line.
    pub left: Option<String>,
    /// Line number in the new text, if this row shows a new line.
    pub right_no: Option<usize>,
    /// The new line.
    pub right: Option<String>,
    /// How the two sides differ.
    pub side: Side,
}

enum Op {
    Same(usize, usize),
    Removed(usize),
    Added(usize),
}

/// Compares `old` and `new` line by line for a side-by-side view.
pub fn side_by_side(old: &str, new: &str) -> Vec<DiffRow> {
    let left: Vec<&str> = old.lines().collect();
    let right: Vec<&str> = new.lines().collect();

    let prefix = left.iter().zip(&right).take_while(|(a, b)| a == b).count();
    let suffix = left[prefix..]
        .iter()
        .rev()
        .zip(right[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();

    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Same(i, i)).collect();
    let left_mid = &left[prefix..left.len() - suffix];
    let right_mid = &right[prefix..right.len() - suffix];
    if left_mid.len() > MAX_LINES || right_mid.len() > MAX_LINES {
        ops.extend((0..left_mid.len()).map(|i| Op::Removed(prefix + i)));
        ops.extend((0..right_mid.len()).map(|j| Op::Added(prefix + j)));
    } else {
        ops.extend(lcs_ops(left_mid, right_mid, prefix));
    }
    ops.extend((0..suffix).map(|k| Op::Same(left.len() - suffix + k, right.len() - suffix + k)));

    rows_from_ops(&ops, &left, &right)
}

/// The edit script between two line lists, by longest common subsequence.
/// `offset` is added to every line index.
fn lcs_ops(left: &[&str], right: &[&str], offset: usize) -> Vec<Op> {
    let (n, m) = (left.len(), right.len());
    let width = m + 1;
    // lengths[i * width + j]: LCS length of left[i..] and right[j..].
    let mut lengths = vec![0u16; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lengths[i * width + j] = if left[i] == right[j] {
                lengths[(i + 1) * width + j + 1] + 1
            } else {
                lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
            };
        }
    }
    let mut ops = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if left[i] == right[j] {
            ops.push(Op::Same(offset + i, offset + j));
            i += 1;
            j += 1;
        } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
            ops.push(Op::Removed(offset + i));
            i += 1;
        } else {
            ops.push(Op::Added(offset + j));
            j += 1;
        }
    }
    ops.extend((i..n).map(|i| Op::Removed(offset + i)));
    ops.extend((j..m).map(|j| Op::Added(offset + j)));
    ops
}

fn rows_from_ops(ops: &[Op], left: &[&str], right: &[&str]) -> Vec<DiffRow> {
    let mut rows = Vec::with_capacity(ops.len());
    let mut removed: Vec<usize> = Vec::new();
    let mut added: Vec<usize> = Vec::new();
    for op in ops {
        match op {
            Op::Removed(i) => removed.push(*i),
            Op::Added(j) => added.push(*j),
            Op::Same(i, j) => {
                flush(&mut rows, &mut removed, &mut added, left, right);
                rows.push(DiffRow {
                    left_no: Some(i + 1),
                    left: Some(left[*i].to_owned()),
                    right_no: Some(j + 1),
                    right: Some(right[*j].to_owned()),
                    side: Side::Same,
                });
            }
        }
    }
    flush(&mut rows, &mut removed, &mut added, left, right);
    rows
}

/// Emits a run of removed and added lines, pairing them up as changed rows.
fn flush(
    rows: &mut Vec<DiffRow>,
    removed: &mut Vec<usize>,
    added: &mut Vec<usize>,
    left: &[&str],
    right: &[&str],
) {
    let count = removed.len().max(added.len());
    for k in 0..count {
        let l = removed.get(k).copied();
        let r = added.get(k).copied();
        let side = match (l, r) {
            (Some(_), Some(_)) => Side::Changed,
            (Some(_), None) => Side::Removed,
            _ => Side::Added,
        };
        rows.push(DiffRow {
            left_no: l.map(|i| i + 1),
            left: l.map(|i| left[i].to_owned()),
            right_no: r.map(|j| j + 1),
            right: r.map(|j| right[j].to_owned()),
            side,
        });
    }
    removed.clear();
    added.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(l: usize, r: usize, text: &str) -> DiffRow {
        DiffRow {
            left_no: Some(l),
            left: Some(text.to_owned()),
            right_no: Some(r),
            right: Some(text.to_owned()),
            side: Side::Same,
        }
    }

    fn removed(l: usize, text: &str) -> DiffRow {
        DiffRow {
            left_no: Some(l),
            left: Some(text.to_owned()),
            right_no: None,
            right: None,
            side: Side::Removed,
        }
    }

    fn added(r: usize, text: &str) -> DiffRow {
        DiffRow {
            left_no: None,
            left: None,
            right_no: Some(r),
            right: Some(text.to_owned()),
            side: Side::Added,
        }
    }

    fn changed(l: usize, old: &str, r: usize, new: &str) -> DiffRow {
        DiffRow {
            left_no: Some(l),
            left: Some(old.to_owned()),
            right_no: Some(r),
            right: Some(new.to_owned()),
            side: Side::Changed,
        }
    }

    #[test]
    fn identical_texts_are_all_same() {
        let text = "a\nb\nc";
        assert_eq!(
            side_by_side(text, text),
            vec![same(1, 1, "a"), same(2, 2, "b"), same(3, 3, "c")]
        );
    }

    #[test]
    fn empty_sides() {
        assert!(side_by_side("", "").is_empty());
        assert_eq!(side_by_side("", "x\ny"), vec![added(1, "x"), added(2, "y")]);
        assert_eq!(
            side_by_side("x\ny", ""),
            vec![removed(1, "x"), removed(2, "y")]
        );
    }

    #[test]
    fn pure_insert() {
        assert_eq!(
            side_by_side("a\nd", "a\nb\nc\nd"),
            vec![
                same(1, 1, "a"),
                added(2, "b"),
                added(3, "c"),
                same(2, 4, "d")
            ]
        );
    }

    #[test]
    fn pure_delete() {
        assert_eq!(
            side_by_side("a\nb\nc\nd", "a\nd"),
            vec![
                same(1, 1, "a"),
                removed(2, "b"),
                removed(3, "c"),
                same(4, 2, "d")
            ]
        );
    }

    #[test]
    fn change_in_the_middle_is_paired() {
        assert_eq!(
            side_by_side("a\nb\nc\nd", "a\nB\nC\nX\nd"),
            vec![
                same(1, 1, "a"),
                changed(2, "b", 2, "B"),
                changed(3, "c", 3, "C"),
                added(4, "X"),
                same(4, 5, "d"),
            ]
        );
    }

    #[test]
    fn scattered_changes_keep_common_lines_aligned() {
        let old = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}";
        let new = "{\n  \"a\": 1,\n  \"c\": 3,\n  \"d\": 4\n}";
        assert_eq!(
            side_by_side(old, new),
            vec![
                same(1, 1, "{"),
                same(2, 2, "  \"a\": 1,"),
                changed(3, "  \"b\": 2,", 3, "  \"c\": 3,"),
                changed(4, "  \"c\": 3", 4, "  \"d\": 4"),
                same(5, 5, "}"),
            ]
        );
    }

    #[test]
    fn windows_line_endings_and_trailing_newline() {
        assert_eq!(
            side_by_side("a\r\nb\r\n", "a\nb\n"),
            vec![same(1, 1, "a"), same(2, 2, "b")]
        );
    }

    #[test]
    fn very_long_inputs_fall_back_to_changed_rows() {
        let old: String = (0..MAX_LINES + 10).map(|i| format!("old {i}\n")).collect();
        let new: String = (0..MAX_LINES + 5).map(|i| format!("new {i}\n")).collect();
        let rows = side_by_side(&format!("head\n{old}tail"), &format!("head\n{new}tail"));
        assert_eq!(rows.len(), MAX_LINES + 12);
        assert_eq!(rows[0], same(1, 1, "head"));
        assert_eq!(rows[1], changed(2, "old 0", 2, "new 0"));
        assert_eq!(rows[MAX_LINES + 6].side, Side::Removed);
        assert_eq!(
            rows[MAX_LINES + 11],
            same(MAX_LINES + 12, MAX_LINES + 7, "tail")
        );
    }

    #[test]
    fn every_line_appears_once_in_order() {
        let old = "x\na\nb\nx\nc\ny\nz";
        let new = "a\nx\nb\nc\nq\nz\nx";
        let rows = side_by_side(old, new);
        let left: Vec<usize> = rows.iter().filter_map(|r| r.left_no).collect();
        let right: Vec<usize> = rows.iter().filter_map(|r| r.right_no).collect();
        assert_eq!(left, (1..=7).collect::<Vec<_>>());
        assert_eq!(right, (1..=7).collect::<Vec<_>>());
        let same_count = rows.iter().filter(|r| r.side == Side::Same).count();
        assert_eq!(same_count, 4, "{rows:#?}");
    }
}
