//! One row's cells as text, in one buffer: a row of ten cells was eleven allocations to make
//! and free, for every row of a file.

use serde::ser::{Serialize, SerializeSeq, Serializer};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cells {
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
}

impl Cells {
    pub fn with_capacity(cells: usize, bytes: usize) -> Cells {
        Cells {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(cells),
        }
    }

    pub fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl std::ops::Index<usize> for Cells {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        self.get(i).expect("a cell of the row")
    }
}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> Cells {
        let mut out = Cells::default();
        for c in cells {
            out.push(c.as_ref());
        }
        out
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Cells {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == *b)
    }
}

/// As a JSON array of strings (a row error's row data).
impl Serialize for Cells {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for c in self.iter() {
            seq.serialize_element(c)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_pushed_and_serialise_as_an_array() {
        let cells: Cells = ["a@b.example", "", "Ann; \"Lee\""].into_iter().collect();
        assert_eq!(cells.len(), 3);
        assert_eq!(
            cells.iter().collect::<Vec<_>>(),
            ["a@b.example", "", "Ann; \"Lee\""]
        );
        assert_eq!((&cells[1], cells.get(3)), ("", None));
        assert_eq!(
            serde_json::to_string(&cells).unwrap(),
            r#"["a@b.example","","Ann; \"Lee\""]"#
        );
        assert!(Cells::default().is_empty());
    }
}
