//! The DynamoDB expression parser (condition, update, projection and key-condition
//! expressions) on arbitrary text: it must never panic, and what it accepts is also
//! evaluated (against an item holding every attribute type), so evaluation and update
//! application are covered with every shape the parser produces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redyn_server::tables::expr::{
    apply_update, evaluate, parse_condition, parse_key_condition, parse_projection, parse_update,
    Placeholders,
};
use redyn_server::tables::value::{item_from_json, Item};
use serde_json::json;

/// Names and values the expressions can refer to: one placeholder per attribute type.
fn placeholders() -> Placeholders {
    let req = json!({
        "ExpressionAttributeNames": {"#a": "a", "#b": "b", "#m": "m", "#l": "l", "#dot": "x.y"},
        "ExpressionAttributeValues": {
            ":s": {"S": "hello"}, ":n": {"N": "42"}, ":z": {"N": "-1.5e10"}, ":b": {"B": "AAEC"},
            ":t": {"BOOL": true}, ":nul": {"NULL": true},
            ":ss": {"SS": ["a", "b"]}, ":ns": {"NS": ["1", "2"]}, ":bs": {"BS": ["AA=="]},
            ":l": {"L": [{"N": "1"}, {"S": "x"}]}, ":m": {"M": {"k": {"S": "v"}}}
        }
    });
    Placeholders::from_request(req.as_object().expect("object")).expect("valid placeholders")
}

fn sample_item() -> Item {
    let item = json!({
        "a": {"S": "hello"}, "b": {"N": "7"}, "c": {"B": "AAEC"}, "t": {"BOOL": false},
        "nul": {"NULL": true}, "ss": {"SS": ["a", "c"]}, "ns": {"NS": ["1", "3"]},
        "bs": {"BS": ["AA=="]},
        "l": {"L": [{"N": "1"}, {"L": [{"S": "deep"}]}, {"M": {"q": {"N": "0"}}}]},
        "m": {"M": {"k": {"S": "v"}, "n": {"M": {"x": {"N": "9.99"}}}}}
    });
    item_from_json(item.as_object().expect("object")).expect("valid item")
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let ph = placeholders();
    let item = sample_item();
    match kind % 4 {
        0 => {
            if let Ok(cond) = parse_condition(text, &ph, "ConditionExpression") {
                let _ = evaluate(&cond, &item);
            }
        }
        1 => {
            if let Ok(actions) = parse_update(text, &ph) {
                let mut updated = item.clone();
                let _ = apply_update(&mut updated, &actions);
            }
        }
        2 => {
            if let Ok(paths) = parse_projection(text, &ph) {
                let _ = redyn_server::tables::expr::project(&item, &paths);
            }
        }
        _ => {
            let _ = parse_key_condition(text, &ph);
        }
    }
});
