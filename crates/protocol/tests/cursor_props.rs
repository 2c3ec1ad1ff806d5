//! Property tests of the cursor's text form: every cursor prints to text that parses back
//! to it, text order never contradicts cursor order, and no string makes parsing panic.

use proptest::prelude::*;
use socket_serve_protocol::Cursor;

fn any_cursor() -> impl Strategy<Value = Cursor> {
    (any::<u64>(), any::<u64>()).prop_map(|(ms, seq)| Cursor::new(ms, seq))
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_cursor(cursor in any_cursor()) {
        let text = cursor.to_string();
        prop_assert_eq!(text.parse::<Cursor>(), Ok(cursor));
        let json = serde_json::to_string(&cursor).unwrap();
        prop_assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), cursor);
    }

    #[test]
    fn parsing_keeps_the_order_of_the_parts(a in any_cursor(), b in any_cursor()) {
        let pa: Cursor = a.to_string().parse().unwrap();
        let pb: Cursor = b.to_string().parse().unwrap();
        prop_assert_eq!(pa.cmp(&pb), (a.ms, a.seq).cmp(&(b.ms, b.seq)));
    }

    #[test]
    fn leading_zeros_and_surrounding_space_name_the_same_cursor(
        cursor in any_cursor(), zeros in 0usize..3, pad in "[ \t]{0,2}",
    ) {
        let ms = format!("{}{}", "0".repeat(zeros), cursor.ms);
        let text = format!("{pad}{ms}-{}{pad}", cursor.seq);
        // Over 20 digits a part is refused, whatever its value.
        let fits = ms.len() <= 20;
        prop_assert_eq!(text.parse::<Cursor>().ok(), fits.then_some(cursor));
    }

    #[test]
    fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,48}") {
        if let Ok(cursor) = text.parse::<Cursor>() {
            prop_assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        }
    }

    #[test]
    fn anything_but_two_digit_runs_is_refused(
        ms in "[0-9]{1,20}", junk in "[^-0-9\\s]",
    ) {
        for text in [format!("{ms}{junk}-1"), format!("{ms}-1{junk}"), format!("{ms}{junk}1")] {
            prop_assert!(text.parse::<Cursor>().is_err(), "{:?} parsed", text);
        }
    }
}
