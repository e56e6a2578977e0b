//! Calendar days as day numbers (days since 1970-01-01), from dates, timestamps and ISO
//! text, without a time-zone database: timestamps count in UTC, as Arrow stores them.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt32Type, UInt64Type,
};

/// Days from 1970-01-01 to `year-month-day` (proleptic Gregorian; Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `year-month-day` of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The day of `YYYY-MM-DD`, optionally followed by a time (`T` or a space, then anything).
pub fn parse_day(text: &str) -> Option<i64> {
    let t = text.trim();
    let date = t.get(..10)?;
    if t.len() > 10 && !matches!(t.as_bytes()[10], b'T' | b' ') {
        return None;
    }
    let b = date.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i64 = date[..4].parse().ok()?;
    let month: u32 = date[5..7].parse().ok()?;
    let day: u32 = date[8..10].parse().ok()?;
    valid(year, month, day).then(|| days_from_civil(year, month, day))
}

/// Whether `year-month-day` exists.
fn valid(year: i64, month: u32, day: u32) -> bool {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12).contains(&month) && day >= 1 && day <= days[month as usize - 1]
}

/// The day of an integer `YYYYMMDD` (as CDNOW stores dates).
fn yyyymmdd(v: i64) -> Option<i64> {
    let (year, month, day) = (v / 10_000, (v / 100 % 100) as u32, (v % 100) as u32);
    ((1000..=9999).contains(&year) && valid(year, month, day)).then(|| days_from_civil(year, month, day))
}

/// Why a time column cannot be read.
pub enum DayError {
    /// The column's type holds no dates.
    Type(DataType),
    /// Row `row` (within the array) holds `text`, which is no date.
    Value { row: usize, text: String },
}

/// The day of every row of a time column (`None` where null): timestamps (any unit,
/// counted in UTC), dates, ISO text (`2011-12-09`, `2011-12-09 08:26:00`,
/// `2011-12-09T08:26:00Z`) or `YYYYMMDD` integers.
pub fn days_of(array: &ArrayRef) -> Result<Vec<Option<i64>>, DayError> {
    const DAY_SECONDS: i64 = 86_400;
    let n = array.len();
    let seconds = |per_second: i64, values: &dyn Fn(usize) -> i64| -> Vec<Option<i64>> {
        (0..n).map(|i| array.is_valid(i).then(|| values(i).div_euclid(per_second * DAY_SECONDS))).collect()
    };
    Ok(match array.data_type() {
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            (0..n).map(|i| a.is_valid(i).then(|| a.value(i) as i64)).collect()
        }
        DataType::Date64 => {
            let a = array.as_primitive::<Date64Type>();
            seconds(1000, &|i| a.value(i))
        }
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => {
                let a = array.as_primitive::<TimestampSecondType>();
                seconds(1, &|i| a.value(i))
            }
            TimeUnit::Millisecond => {
                let a = array.as_primitive::<TimestampMillisecondType>();
                seconds(1_000, &|i| a.value(i))
            }
            TimeUnit::Microsecond => {
                let a = array.as_primitive::<TimestampMicrosecondType>();
                seconds(1_000_000, &|i| a.value(i))
            }
            TimeUnit::Nanosecond => {
                let a = array.as_primitive::<TimestampNanosecondType>();
                seconds(1_000_000_000, &|i| a.value(i))
            }
        },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text =
                arrow::compute::cast(array, &DataType::Utf8).map_err(|_| DayError::Type(array.data_type().clone()))?;
            let text = text.as_string::<i32>();
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                if text.is_null(i) {
                    out.push(None);
                    continue;
                }
                let value = text.value(i);
                let day = parse_day(value)
                    .or_else(|| value.trim().parse::<i64>().ok().and_then(yyyymmdd))
                    .ok_or_else(|| DayError::Value { row: i, text: value.to_string() })?;
                out.push(Some(day));
            }
            out
        }
        DataType::Int32 | DataType::Int64 | DataType::UInt32 | DataType::UInt64 => {
            let ints: Vec<Option<i64>> = match array.data_type() {
                DataType::Int32 => array.as_primitive::<Int32Type>().iter().map(|v| v.map(i64::from)).collect(),
                DataType::Int64 => array.as_primitive::<Int64Type>().iter().collect(),
                DataType::UInt32 => array.as_primitive::<UInt32Type>().iter().map(|v| v.map(i64::from)).collect(),
                _ => array.as_primitive::<UInt64Type>().iter().map(|v| v.map(|v| v as i64)).collect(),
            };
            let mut out = Vec::with_capacity(n);
            for (i, v) in ints.into_iter().enumerate() {
                out.push(match v {
                    None => None,
                    Some(v) => Some(yyyymmdd(v).ok_or_else(|| DayError::Value { row: i, text: v.to_string() })?),
                });
            }
            out
        }
        other => return Err(DayError::Type(other.clone())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip_and_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1997, 9, 30) - days_from_civil(1997, 1, 1), 272);
        for z in [-800_000, -1, 0, 59, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(format_day(days_from_civil(2011, 12, 9)), "2011-12-09");
    }

    #[test]
    fn iso_text_and_yyyymmdd_parse_and_nonsense_does_not() {
        let d = days_from_civil(2011, 12, 9);
        for text in ["2011-12-09", "2011-12-09 08:26:00", "2011-12-09T08:26:00Z", " 2011-12-09 "] {
            assert_eq!(parse_day(text), Some(d), "{text}");
        }
        for text in ["2011-13-09", "2011-02-30", "09/12/2011", "2011-12-9", "", "2011-12-09x"] {
            assert_eq!(parse_day(text), None, "{text}");
        }
        assert_eq!(yyyymmdd(19970101), Some(days_from_civil(1997, 1, 1)));
        assert_eq!(yyyymmdd(42), None);
    }
}
