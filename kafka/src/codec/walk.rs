//! A schema walk over a request body before `kafka-protocol` decodes it.
//!
//! `kafka-protocol` pre-allocates `Vec::with_capacity(n)` from the array counts it
//! reads, so a 15-byte frame announcing 2³¹ elements makes the process abort on a
//! failed allocation (not a panic: `catch_unwind` cannot help). Every element takes
//! at least one byte on the wire, so a count larger than the bytes left is always
//! bogus. This module walks the body with the field layout of each implemented
//! request ([`super::schema`]) and rejects such counts, plus bodies that do not match
//! the layout at all, before the real decoder runs.

use super::schema::{Elem, Field, Ty};

/// Why a body failed the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// The body ended inside a field.
    #[error("body truncated at byte {offset}")]
    Truncated {
        /// Position in the body.
        offset: usize,
    },
    /// An array count larger than the remaining bytes could hold.
    #[error("array of {count} elements at byte {offset} exceeds the {remaining} bytes left")]
    ArrayTooLong {
        /// Position in the body.
        offset: usize,
        /// Declared count.
        count: u64,
        /// Bytes left.
        remaining: usize,
    },
    /// A negative length other than the null marker `-1`.
    #[error("invalid length {length} at byte {offset}")]
    InvalidLength {
        /// Position in the body.
        offset: usize,
        /// Declared length.
        length: i64,
    },
    /// An unsigned varint longer than 5 bytes.
    #[error("malformed varint at byte {offset}")]
    Varint {
        /// Position in the body.
        offset: usize,
    },
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    version: i16,
    flexible: bool,
}

impl Cursor<'_> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&[u8], WalkError> {
        if self.remaining() < n {
            return Err(WalkError::Truncated { offset: self.pos });
        }
        let slice = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn int(&mut self, n: usize) -> Result<i64, WalkError> {
        let bytes = self.take(n)?;
        Ok(match n {
            2 => i64::from(i16::from_be_bytes([bytes[0], bytes[1]])),
            _ => i64::from(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        })
    }

    fn uvarint(&mut self) -> Result<u64, WalkError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for shift in 0..5 {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << (7 * shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WalkError::Varint { offset: start })
    }

    /// A length prefix: `None` for null, else the length.
    fn length(&mut self, classic_width: usize) -> Result<Option<u64>, WalkError> {
        let offset = self.pos;
        if self.flexible {
            let raw = self.uvarint()?;
            return Ok(raw.checked_sub(1));
        }
        match self.int(classic_width)? {
            -1 => Ok(None),
            n if n >= 0 => Ok(Some(n.unsigned_abs())),
            length => Err(WalkError::InvalidLength { offset, length }),
        }
    }

    fn skip_sized(&mut self, classic_width: usize) -> Result<(), WalkError> {
        if let Some(len) = self.length(classic_width)? {
            let len =
                usize::try_from(len).map_err(|_| WalkError::Truncated { offset: self.pos })?;
            self.take(len)?;
        }
        Ok(())
    }

    fn tagged_fields(&mut self) -> Result<(), WalkError> {
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?;
            let size = self.uvarint()?;
            let size =
                usize::try_from(size).map_err(|_| WalkError::Truncated { offset: self.pos })?;
            self.take(size)?;
        }
        Ok(())
    }

    fn fields(&mut self, fields: &[Field]) -> Result<(), WalkError> {
        let version = self.version;
        for field in fields.iter().filter(|f| f.present(version)) {
            self.ty(field.ty)?;
        }
        if self.flexible {
            self.tagged_fields()?;
        }
        Ok(())
    }

    fn ty(&mut self, ty: Ty) -> Result<(), WalkError> {
        match ty {
            Ty::Fixed(n) => self.take(n).map(|_| ()),
            Ty::Str => self.skip_sized(2),
            Ty::Bytes => self.skip_sized(4),
            Ty::Array(elem) => self.array(elem),
        }
    }

    fn array(&mut self, elem: Elem) -> Result<(), WalkError> {
        let offset = self.pos;
        let Some(count) = self.length(4)? else {
            return Ok(());
        };
        let min_size = match elem {
            Elem::Fixed(n) => n,
            Elem::Str | Elem::Struct(_) => 1,
        };
        let remaining = self.remaining();
        if count.saturating_mul(min_size as u64) > remaining as u64 {
            return Err(WalkError::ArrayTooLong {
                offset,
                count,
                remaining,
            });
        }
        for _ in 0..count {
            match elem {
                Elem::Fixed(n) => {
                    self.take(n)?;
                }
                Elem::Str => self.skip_sized(2)?,
                Elem::Struct(fields) => self.fields(fields)?,
            }
        }
        Ok(())
    }
}

/// Walks `body` as the top-level struct `fields` at `version`; returns the number of
/// bytes the layout covers.
pub(crate) fn walk(
    body: &[u8],
    fields: &[Field],
    version: i16,
    flexible: bool,
) -> Result<usize, WalkError> {
    let mut cursor = Cursor {
        data: body,
        pos: 0,
        version,
        flexible,
    };
    cursor.fields(fields)?;
    Ok(cursor.pos)
}
