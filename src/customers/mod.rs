//! From the transaction log to customers: a streaming group-by per customer (RFM, tenure),
//! then BG/NBD and Gamma-Gamma fitted on the distinct (x, t_x, T) triples for predicted
//! purchases, churn risk and lifetime value.

pub mod by_customer;
pub mod dates;
pub mod ids;
pub mod line;
pub mod models;
pub mod rfm;
pub mod spill;
pub mod table;
pub mod transactions;
pub mod value;
