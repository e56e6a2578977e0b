//! One kept line of the transaction log, as the group-by holds it in memory and in spill
//! files.

use bytemuck::{Pod, Zeroable};

/// One kept line of the log: 24 bytes, written as is to spill files.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct Line {
    /// Index into the log's customer ids (`Transactions::ids`).
    pub customer: u32,
    /// Day number (days since 1970-01-01).
    pub day: i32,
    /// Money value, its sign bit telling purchases from returns: a purchase is ≥ +0, a
    /// return ≤ −0 (see [`Line::new`]).
    pub value: f64,
    /// Hash of the invoice number ([`NO_INVOICE`] without an invoice column).
    pub invoice: u64,
}

impl Line {
    /// A purchase (value made ≥ +0) or a return (value made ≤ −0) of `|value|`.
    pub fn new(customer: u32, day: i32, value: f64, purchase: bool, invoice: u64) -> Line {
        let value = if purchase { value.abs() } else { -value.abs() };
        Line { customer, day, value, invoice }
    }

    /// Whether the line is a purchase (not a return).
    pub fn is_purchase(&self) -> bool {
        self.value.is_sign_positive()
    }
}

/// The invoice index of lines without one.
pub const NO_INVOICE: u64 = u64::MAX;
