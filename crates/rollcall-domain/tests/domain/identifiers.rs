//! UPN, URN, LA code and LAESTAB rules, with the worked examples of docs/domain.md and property tests.

use proptest::prelude::*;
use rollcall_domain::identifiers::{
    LaCode, LaCodeError, Laestab, LaestabError, UPN_LETTERS, Upn, UpnError, Urn, UrnError,
    all_la_codes, current_la_codes, upn_check_letter,
};

#[test]
fn worked_examples_from_domain_md() {
    let upn = Upn::parse("H801200001001").unwrap();
    assert_eq!(upn.as_str(), "H801200001001");
    assert!(!upn.is_temporary());
    assert_eq!(upn.issuing_la().name(), "Bristol, City of");
    assert_eq!(Upn::parse("Z801200001001"), Err(UpnError::CheckLetter));
    let temporary = Upn::parse("G80120000101A").unwrap();
    assert!(temporary.is_temporary());
    assert_eq!(Upn::parse("R900400001001"), Err(UpnError::LaCode));
    // The sum in the worked example: 53 mod 23 = 7, H.
    assert_eq!(upn_check_letter(b"801200001001"), Some(b'H'));
}

#[test]
fn every_upn_rule() {
    let cases: &[(&str, Result<(), UpnError>)] = &[
        ("H801200001001", Ok(())),
        ("G80120000101A", Ok(())),
        // length, counted in characters
        ("", Err(UpnError::Length { found: 0 })),
        ("H80120000100", Err(UpnError::Length { found: 12 })),
        ("H8012000010011", Err(UpnError::Length { found: 14 })),
        (" H801200001001", Err(UpnError::Length { found: 14 })),
        ("H80120000100é", Err(UpnError::LastCharacter)),
        // first character: one of the 23 letters (no I, O, S, no digit, no lower case)
        ("I801200001001", Err(UpnError::FirstCharacter)),
        ("O801200001001", Err(UpnError::FirstCharacter)),
        ("S801200001001", Err(UpnError::FirstCharacter)),
        ("h801200001001", Err(UpnError::FirstCharacter)),
        ("1801200001001", Err(UpnError::FirstCharacter)),
        ("é801200001001", Err(UpnError::FirstCharacter)),
        // characters 2 to 12 digits
        ("H8012000O1001", Err(UpnError::Digits)),
        ("H80120000100A1", Err(UpnError::Length { found: 14 })),
        ("HA01200001001", Err(UpnError::Digits)),
        ("H80120000 001", Err(UpnError::Digits)),
        ("H80120000100A", Err(UpnError::CheckLetter)),
        // character 13 a digit or one of the 23 letters
        ("H80120000100I", Err(UpnError::LastCharacter)),
        ("H80120000100O", Err(UpnError::LastCharacter)),
        ("H80120000100S", Err(UpnError::LastCharacter)),
        ("H80120000100a", Err(UpnError::LastCharacter)),
        ("H80120000100/", Err(UpnError::LastCharacter)),
        // LA code current or historic
        ("R900400001001", Err(UpnError::LaCode)),
        // check letter
        ("Z801200001001", Err(UpnError::CheckLetter)),
        ("A801200001001", Err(UpnError::CheckLetter)),
    ];
    for (s, expected) in cases {
        assert_eq!(Upn::parse(s).map(|_| ()), *expected, "{s:?}");
    }
}

#[test]
fn historic_la_codes_are_valid_in_upns() {
    for la in [820, 835, 836, 837, 875, 909, 928] {
        let la = LaCode::new(la).unwrap();
        assert!(!la.is_current());
        let upn = Upn::from_parts(la, 2000, 5, 1);
        assert_eq!(Upn::parse(upn.as_str()), Ok(upn.clone()));
        assert_eq!(upn.issuing_la(), la);
    }
}

#[test]
fn upn_error_messages_name_the_rule_not_the_value() {
    for s in [
        "H80120000100",
        "I801200001001",
        "H8012000O1001",
        "H80120000100I",
        "R900400001001",
        "Z801200001001",
    ] {
        let msg = Upn::parse(s).unwrap_err().to_string();
        assert!(!msg.contains(&s[1..8]), "{msg}");
        assert_eq!(msg, msg.to_lowercase(), "{msg}");
        assert!(!msg.ends_with('.'));
    }
    assert_eq!(
        format!("{:?}", Upn::parse("H801200001001").unwrap()),
        "Upn(..)"
    );
}

#[test]
fn upn_traits() {
    let upn: Upn = "H801200001001".parse().unwrap();
    assert_eq!(upn.to_string(), "H801200001001");
    let la = LaCode::new(801).unwrap();
    assert_eq!(Upn::from_parts(la, 2000, 1, 1), upn);
    assert_eq!(
        Upn::temporary_from_parts(la, 2000, 1, 1, 'A').as_str(),
        "G80120000101A"
    );
    assert!(Upn::parse("U80120000100A").is_ok());
}

#[test]
#[should_panic(expected = "upn part out of range")]
fn upn_parts_must_fit() {
    Upn::from_parts(LaCode::new(801).unwrap(), 10_000, 1, 1);
}

#[test]
fn la_codes() {
    let warwickshire = LaCode::parse("937").unwrap();
    assert_eq!(warwickshire.get(), 937);
    assert_eq!(warwickshire.name(), "Warwickshire");
    assert!(warwickshire.is_current());
    assert_eq!(warwickshire.region_name(), Some("West Midlands"));
    assert_eq!(warwickshire.region_code(), Some("E12000005"));
    assert_eq!(warwickshire.ons_code(), Some("E10000031"));
    assert_eq!(warwickshire.to_string(), "937");
    let birmingham: LaCode = "330".parse().unwrap();
    assert_eq!(birmingham.name(), "Birmingham");
    let cumbria = LaCode::new(909).unwrap();
    assert!(!cumbria.is_current());
    assert_eq!(cumbria.ons_code(), None);
    assert_eq!(cumbria.region_name(), None);
    assert_eq!(LaCode::parse("93"), Err(LaCodeError::Length));
    assert_eq!(LaCode::parse("9370"), Err(LaCodeError::Length));
    assert_eq!(LaCode::parse("93a"), Err(LaCodeError::NotDigits));
    assert_eq!(LaCode::parse("+93"), Err(LaCodeError::NotDigits));
    assert_eq!(LaCode::parse("900"), Err(LaCodeError::Unknown));
    assert_eq!(LaCode::new(0), Err(LaCodeError::Unknown));
    assert_eq!(current_la_codes().count(), 153);
    assert!(current_la_codes().all(LaCode::is_current));
    assert!(current_la_codes().is_sorted());
    assert_eq!(all_la_codes().filter(|l| !l.is_current()).count(), 7);
    assert!(current_la_codes().all(|l| l.ons_code().is_some() && l.region_code().is_some()));
}

#[test]
fn urns() {
    assert_eq!(Urn::parse("100000").unwrap().get(), 100_000);
    assert_eq!(Urn::parse("999999").unwrap().to_string(), "999999");
    assert_eq!("140123".parse::<Urn>().unwrap(), Urn::new(140_123).unwrap());
    assert_eq!(Urn::parse("12345"), Err(UrnError::Length));
    assert_eq!(Urn::parse("1234567"), Err(UrnError::Length));
    assert_eq!(Urn::parse("12345a"), Err(UrnError::NotDigits));
    assert_eq!(Urn::parse("+12345"), Err(UrnError::NotDigits));
    assert_eq!(Urn::parse("012345"), Err(UrnError::OutOfRange));
    assert_eq!(Urn::new(99_999), Err(UrnError::OutOfRange));
    assert_eq!(Urn::new(1_000_000), Err(UrnError::OutOfRange));
}

#[test]
fn laestabs() {
    let l = Laestab::parse("9372000").unwrap();
    assert_eq!((l.la().get(), l.estab()), (937, 2000));
    assert_eq!(l.to_string(), "9372000");
    assert_eq!(l.get(), 9_372_000);
    assert_eq!(Laestab::parse("937/2000"), Ok(l));
    assert_eq!("3300001".parse::<Laestab>().unwrap().to_string(), "3300001");
    assert_eq!(Laestab::parse("937200"), Err(LaestabError::Format));
    assert_eq!(Laestab::parse("937-2000"), Err(LaestabError::Format));
    assert_eq!(Laestab::parse("93720000"), Err(LaestabError::Format));
    assert_eq!(Laestab::parse("93a2000"), Err(LaestabError::NotDigits));
    assert_eq!(Laestab::parse("9002000"), Err(LaestabError::LaCode));
    assert_eq!(
        Laestab::new(LaCode::new(937).unwrap(), 10_000),
        Err(LaestabError::Estab)
    );
    assert!(Laestab::parse("9370001").unwrap() < Laestab::parse("9380000").unwrap());
}

fn la_code() -> impl Strategy<Value = LaCode> {
    let all: Vec<LaCode> = all_la_codes().collect();
    prop::sample::select(all)
}

fn letter_value(b: u8) -> u32 {
    if b.is_ascii_digit() {
        u32::from(b - b'0')
    } else {
        UPN_LETTERS.iter().position(|&l| l == b).unwrap() as u32
    }
}

proptest! {
    #[test]
    fn upn_with_computed_check_letter_parses(la in la_code(), estab in 0u16..=9999, year in 0u8..=99, serial in 0u16..=999) {
        let upn = Upn::from_parts(la, estab, year, serial);
        prop_assert_eq!(Upn::parse(upn.as_str()), Ok(upn.clone()));
        prop_assert!(!upn.is_temporary());
        prop_assert_eq!(upn.issuing_la(), la);
    }

    #[test]
    fn temporary_upn_with_computed_check_letter_parses(
        la in la_code(), estab in 0u16..=9999, year in 0u8..=99, serial in 0u8..=99, letter in 0usize..23,
    ) {
        let upn = Upn::temporary_from_parts(la, estab, year, serial, char::from(UPN_LETTERS[letter]));
        prop_assert_eq!(Upn::parse(upn.as_str()), Ok(upn.clone()));
        prop_assert!(upn.is_temporary());
    }

    /// Changing one character never leaves a valid UPN, except in position 13 where a digit and
    /// the letter with the same value (A=0 ... K=9) weigh the same: that is how temporary UPNs work.
    #[test]
    fn changing_one_character_breaks_the_upn(
        la in la_code(), estab in 0u16..=9999, year in 0u8..=99, serial in 0u16..=999,
        position in 0usize..13, replacement in prop::sample::select(
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ /a".to_vec()),
    ) {
        let upn = Upn::from_parts(la, estab, year, serial);
        let mut bytes = upn.as_str().as_bytes().to_vec();
        prop_assume!(bytes[position] != replacement);
        let original = bytes[position];
        bytes[position] = replacement;
        let changed = String::from_utf8(bytes).unwrap();
        let allowed = position == 12
            && UPN_LETTERS.contains(&replacement)
            && letter_value(replacement) == letter_value(original);
        match Upn::parse(&changed) {
            Ok(u) => {
                prop_assert!(allowed, "changed position {} still valid", position + 1);
                prop_assert!(u.is_temporary());
                prop_assert_eq!(&u.as_str()[..1], &upn.as_str()[..1]);
            }
            Err(_) => prop_assert!(!allowed),
        }
    }
}
