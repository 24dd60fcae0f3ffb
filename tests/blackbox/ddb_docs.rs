//! DynamoDB's documented expression examples (Developer Guide, "Condition expressions" and
//! "Update expressions", ProductCatalog item 123), replayed against redyn with the results
//! the guide describes.

use serde_json::{json, Value as Json};

use crate::harness::{create_simple_table, ddb_result as ddb, TestServer};

fn product() -> Json {
    json!({
        "Id": {"N": "123"}, "Title": {"S": "Bicycle 123"}, "Description": {"S": "123 description"},
        "BicycleType": {"S": "Hybrid"}, "Brand": {"S": "Brand-Company C"}, "Price": {"N": "500"},
        "Color": {"SS": ["Red", "Black"]}, "ProductCategory": {"S": "Bicycle"}, "InStock": {"BOOL": true},
        "QuantityOnHand": {"NULL": true}, "RelatedItems": {"L": [{"N": "341"}, {"N": "472"}, {"N": "649"}]},
        "Pictures": {"M": {"FrontView": {"S": "http://example.com/products/123_front.jpg"},
                           "RearView": {"S": "http://example.com/products/123_rear.jpg"},
                           "SideView": {"S": "http://example.com/products/123_left_side.jpg"}}},
        "ProductReviews": {"M": {"FiveStar": {"L": [{"S": "Excellent! Can't recommend it highly enough! Buy it!"},
                                                   {"S": "Do yourself a favor and buy this."}]},
                                 "OneStar": {"L": [{"S": "Terrible product! Do not buy this."}]}}},
        "Comment": {"S": "This product sells out quickly during the summer"},
        "Safety.Warning": {"S": "Always wear a helmet"}
    })
}

fn setup() -> (TestServer, redis::Connection) {
    let server = TestServer::start();
    let mut c = server.client();
    create_simple_table(&mut c, "ProductCatalog", "Id", "N");
    ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "ProductCatalog", "Item": product()}),
    )
    .unwrap();
    (server, c)
}

fn key() -> Json {
    json!({"Id": {"N": "123"}})
}

fn get(c: &mut redis::Connection) -> Json {
    ddb(
        c,
        "GETITEM",
        json!({"TableName": "ProductCatalog", "Key": key()}),
    )
    .unwrap()["Item"]
        .clone()
}

const FAILED: &str = "ERR ConditionalCheckFailedException: The conditional request failed";

#[test]
fn condition_expression_examples() {
    let (_server, mut c) = setup();
    // "Preventing overwrites of an existing item": attribute_not_exists(Id) fails.
    let r = ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "ProductCatalog", "Item": product(),
        "ConditionExpression": "attribute_not_exists(Id)"}),
    );
    assert_eq!(r.unwrap_err(), FAILED);
    // "Checking for attributes in an item": attribute_not_exists(Price) fails (Price exists).
    let r = ddb(
        &mut c,
        "DELETEITEM",
        json!({"TableName": "ProductCatalog", "Key": key(),
        "ConditionExpression": "attribute_not_exists(Price)"}),
    );
    assert_eq!(r.unwrap_err(), FAILED);
    // attribute_exists(ProductReviews.OneStar) succeeds — checked on a copy so the item stays.
    ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "ProductCatalog", "Item": product(),
        "ConditionExpression": "attribute_exists(ProductReviews.OneStar)"}),
    )
    .unwrap();
    // "Conditional deletes": ProductCategory IN (...) and Price between 500 and 600.
    let cond = json!({"TableName": "ProductCatalog", "Key": key(),
        "ConditionExpression": "(ProductCategory IN (:cat1, :cat2)) and (Price between :lo and :hi)",
        "ExpressionAttributeValues": {":cat1": {"S": "Sporting Goods"}, ":cat2": {"S": "Gardening Supplies"},
                                      ":lo": {"N": "500"}, ":hi": {"N": "600"}}});
    assert_eq!(
        ddb(&mut c, "DELETEITEM", cond).unwrap_err(),
        FAILED,
        "Bicycle is not in the list"
    );
    // "Conditional updates": SET Price = Price - :discount if Price > :limit.
    let r = ddb(
        &mut c,
        "UPDATEITEM",
        json!({"TableName": "ProductCatalog", "Key": key(),
        "UpdateExpression": "SET Price = Price - :discount", "ConditionExpression": "Price > :limit",
        "ExpressionAttributeValues": {":discount": {"N": "75"}, ":limit": {"N": "500"}}}),
    );
    assert_eq!(r.unwrap_err(), FAILED, "500 is not > 500");
    // Functions: begins_with, contains, size, attribute_type.
    for (expr, values, ok) in [
        (
            "begins_with(Pictures.FrontView, :v_sub)",
            json!({":v_sub": {"S": "http://"}}),
            true,
        ),
        (
            "contains(Color, :v_sub)",
            json!({":v_sub": {"S": "Red"}}),
            true,
        ),
        (
            "contains(Color, :v_sub)",
            json!({":v_sub": {"S": "Blue"}}),
            false,
        ),
        (
            "size(Brand) <= :v_sub",
            json!({":v_sub": {"N": "20"}}),
            true,
        ),
        (
            "size(RelatedItems) = :v_sub",
            json!({":v_sub": {"N": "3"}}),
            true,
        ),
        (
            "attribute_type(ProductReviews.FiveStar, :v_sub)",
            json!({":v_sub": {"S": "L"}}),
            true,
        ),
        (
            "size(VideoClip) > :v_sub",
            json!({":v_sub": {"N": "0"}}),
            false,
        ),
        (
            "#sw = :w",
            json!({":w": {"S": "Always wear a helmet"}}),
            true,
        ),
    ] {
        let mut req = json!({"TableName": "ProductCatalog", "Item": product(), "ConditionExpression": expr,
            "ExpressionAttributeValues": values});
        if expr.contains("#sw") {
            req["ExpressionAttributeNames"] = json!({"#sw": "Safety.Warning"});
        }
        let r = ddb(&mut c, "PUTITEM", req);
        assert_eq!(r.is_ok(), ok, "{expr}: {r:?}");
    }
    // The passing condition finally deletes: Price between 500 and 600, category matches.
    ddb(&mut c, "DELETEITEM", json!({"TableName": "ProductCatalog", "Key": key(),
        "ConditionExpression": "ProductCategory IN (:c) and Price between :lo and :hi",
        "ExpressionAttributeValues": {":c": {"S": "Bicycle"}, ":lo": {"N": "500"}, ":hi": {"N": "600"}}})).unwrap();
    assert_eq!(get(&mut c), Json::Null);
}

#[test]
fn update_expression_examples() {
    let (_server, mut c) = setup();
    let update = |c: &mut redis::Connection, expr: &str, names: Json, values: Json| {
        let mut req = json!({"TableName": "ProductCatalog", "Key": key(), "UpdateExpression": expr,
            "ReturnValues": "ALL_NEW"});
        if names != Json::Null {
            req["ExpressionAttributeNames"] = names;
        }
        if values != Json::Null {
            req["ExpressionAttributeValues"] = values;
        }
        ddb(c, "UPDATEITEM", req).unwrap()["Attributes"].clone()
    };
    // SET: modify and add attributes.
    let item = update(
        &mut c,
        "SET ProductCategory = :c, Price = :p",
        Json::Null,
        json!({":c": {"S": "Hardware"}, ":p": {"N": "60"}}),
    );
    assert_eq!(
        (item["ProductCategory"].clone(), item["Price"].clone()),
        (json!({"S": "Hardware"}), json!({"N": "60"}))
    );
    // Incrementing and decrementing numeric attributes.
    let item = update(
        &mut c,
        "SET Price = Price - :p",
        Json::Null,
        json!({":p": {"N": "15"}}),
    );
    assert_eq!(item["Price"], json!({"N": "45"}));
    // Appending elements to a list.
    let item = update(
        &mut c,
        "SET #ri = list_append(#ri, :vals)",
        json!({"#ri": "RelatedItems"}),
        json!({":vals": {"L": [{"N": "789"}]}}),
    );
    assert_eq!(item["RelatedItems"]["L"].as_array().unwrap().len(), 4);
    // Adding nested map attributes.
    let item = update(
        &mut c,
        "SET #pr.#5star[1] = :r5, #pr.#3star = :r3",
        json!({"#pr": "ProductReviews", "#5star": "FiveStar", "#3star": "ThreeStar"}),
        json!({":r5": {"S": "Very happy with my purchase"}, ":r3": {"L": [{"S": "Just OK - not that great"}]}}),
    );
    assert_eq!(
        item["ProductReviews"]["M"]["FiveStar"]["L"][1],
        json!({"S": "Very happy with my purchase"})
    );
    assert_eq!(
        item["ProductReviews"]["M"]["ThreeStar"]["L"][0],
        json!({"S": "Just OK - not that great"})
    );
    // Preventing overwrites: if_not_exists keeps the existing Price.
    let item = update(
        &mut c,
        "SET Price = if_not_exists(Price, :p)",
        Json::Null,
        json!({":p": {"N": "100"}}),
    );
    assert_eq!(item["Price"], json!({"N": "45"}));
    // REMOVE attributes and list elements.
    let item = update(
        &mut c,
        "REMOVE Brand, InStock, QuantityOnHand",
        Json::Null,
        Json::Null,
    );
    assert!(item.get("Brand").is_none() && item.get("InStock").is_none());
    let item = update(
        &mut c,
        "REMOVE RelatedItems[1], RelatedItems[2]",
        Json::Null,
        Json::Null,
    );
    assert_eq!(
        item["RelatedItems"]["L"].as_array().unwrap().len(),
        2,
        "{item}"
    );
    // ADD: a number, and elements to a set.
    let item = update(
        &mut c,
        "ADD QuantityOnHand :q",
        Json::Null,
        json!({":q": {"N": "5"}}),
    );
    assert_eq!(item["QuantityOnHand"], json!({"N": "5"}));
    let item = update(
        &mut c,
        "ADD Color :c",
        Json::Null,
        json!({":c": {"SS": ["Orange", "Purple"]}}),
    );
    assert_eq!(item["Color"]["SS"].as_array().unwrap().len(), 4);
    // DELETE elements from a set.
    let item = update(
        &mut c,
        "DELETE Color :p",
        Json::Null,
        json!({":p": {"SS": ["Yellow", "Purple"]}}),
    );
    let colors: Vec<&str> = item["Color"]["SS"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!colors.contains(&"Purple") && colors.contains(&"Orange"));
    assert_eq!(get(&mut c)["Color"], item["Color"]);
}

#[test]
fn projection_expression_example() {
    // "Projection expressions": Description, RelatedItems[0], ProductReviews.FiveStar.
    let (_server, mut c) = setup();
    let got = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "ProductCatalog", "Key": key(),
        "ProjectionExpression": "Description, RelatedItems[0], ProductReviews.FiveStar"}),
    )
    .unwrap();
    assert_eq!(
        got["Item"],
        json!({
            "Description": {"S": "123 description"},
            "RelatedItems": {"L": [{"N": "341"}]},
            "ProductReviews": {"M": {"FiveStar": {"L": [
                {"S": "Excellent! Can't recommend it highly enough! Buy it!"},
                {"S": "Do yourself a favor and buy this."}]}}}
        })
    );
}
