//! The DynamoDB JSON decoder (`tables::value`) on arbitrary JSON: it must never panic, and
//! whatever it accepts must survive printing and re-parsing, and the storage encoding,
//! unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redyn_server::tables::value::{decode_item, encode_item, item_from_json, item_to_json, Value};
use serde_json::Value as Json;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<Json>(data) else {
        return;
    };
    // As one attribute value.
    if let Ok(value) = Value::from_json(&json) {
        let _ = value.size();
        let _ = value.key_bytes();
        let _ = value.number();
        let reparsed = Value::from_json(&value.to_json()).expect("a printed value parses");
        assert_eq!(value, reparsed, "value changed by a print/parse round trip");
    }
    // As an item (an attribute map).
    if let Some(map) = json.as_object() {
        if let Ok(item) = item_from_json(map) {
            let printed = item_to_json(&item);
            let reparsed =
                item_from_json(printed.as_object().expect("an item prints as an object"))
                    .expect("a printed item parses");
            assert_eq!(item, reparsed, "item changed by a print/parse round trip");
            let stored = decode_item(&encode_item(&item)).expect("a stored item decodes");
            assert_eq!(item, stored, "item changed by the storage encoding");
        }
    }
});
