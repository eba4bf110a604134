use super::*;
use chrono::{NaiveDate, NaiveTime};

fn day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).unwrap()
}

#[test]
fn years_one_to_9999_pass_and_others_name_the_year() {
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap();
    for ok in [Value::Date(day(1)), Value::Timestamp(last), Value::TimestampTz(last.and_utc())] {
        assert_eq!(check_storable(&ok), Ok(()), "{ok:?}");
    }
    let midnight = NaiveTime::MIN;
    for (year, bad) in [
        (10000, Value::TimestampTz(day(10000).and_time(midnight).and_utc())),
        (0, Value::Timestamp(day(0).and_time(midnight))),
        (-1, Value::Date(day(-1))),
        (10000, Value::Array(vec![Value::Null, Value::Date(day(10000))])),
    ] {
        let message = check_storable(&bad).unwrap_err();
        assert!(message.contains(&format!("year {year} ")), "{message}");
    }
}

#[test]
fn other_values_are_not_dates() {
    for value in [Value::Null, Value::Time(NaiveTime::MIN), Value::Text("+10000-01-01".into()), Value::BigInt(-1)] {
        assert_eq!(check_storable(&value), Ok(()));
    }
}
