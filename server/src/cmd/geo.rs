//! Geo commands on sorted sets whose scores are 52-bit geohashes (see [`crate::geo`]).
//!
//! GEOADD is ZADD with scores computed from coordinates; the searches (GEORADIUS*,
//! GEOSEARCH*) scan the score ranges of the geohash boxes covering the shape and keep the
//! points inside it. Replies and errors follow Redis 7.0's `geo.c`.

use bytes::Bytes;
use redyn_protocol::{Reply, RespVersion};

use super::errors::{self, CmdError};
use super::zset::{finish, open, open_or_create, store_result, Opened};
use super::{CmdResult, CommandSpec, Ctx, Flag, ONE_KEY};
use crate::geo::{self, Extent, Shape};
use crate::types::zset::{self, Changes};
use crate::types::zset_index::{Entry, ZIndex};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("geoadd", -5, &[Write, DenyOom], ONE_KEY, "geo", "3.2.0", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", geoadd),
    CommandSpec::new("geodist", -4, &[ReadOnly], ONE_KEY, "geo", "3.2.0", "Returns the distance between two members of a geospatial index.", geodist),
    CommandSpec::new("geohash", -2, &[ReadOnly], ONE_KEY, "geo", "3.2.0", "Returns members from a geospatial index as geohash strings.", geohash),
    CommandSpec::new("geopos", -2, &[ReadOnly], ONE_KEY, "geo", "3.2.0", "Returns the longitude and latitude of members from a geospatial index.", geopos),
    CommandSpec::new("georadius", -6, &[Write, DenyOom], ONE_KEY, "geo", "3.2.0", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", geo_search),
    CommandSpec::new("georadius_ro", -6, &[ReadOnly], ONE_KEY, "geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a coordinate.", geo_search),
    CommandSpec::new("georadiusbymember", -5, &[Write, DenyOom], ONE_KEY, "geo", "3.2.0", "Queries a geospatial index for members within a distance from a member, optionally stores the result.", geo_search),
    CommandSpec::new("georadiusbymember_ro", -5, &[ReadOnly], ONE_KEY, "geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a member.", geo_search),
    CommandSpec::new("geosearch", -7, &[ReadOnly], ONE_KEY, "geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle.", geo_search),
    CommandSpec::new("geosearchstore", -8, &[Write, DenyOom], (1, 2, 1), "geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", geo_search),
];

/// Parses a longitude, latitude pair with Redis's range check.
fn parse_lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let (lon, lat) = (errors::float_arg(lon)?, errors::float_arg(lat)?);
    if !geo::valid_coordinates(lon, lat) {
        return Err(CmdError::new(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// Meters per unit.
fn parse_unit(unit: &[u8]) -> Result<f64, CmdError> {
    match unit.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(CmdError::new(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// A non-negative number, with the error Redis gives for that argument.
fn parse_measure(arg: &[u8], not_numeric: &str) -> Result<f64, CmdError> {
    redyn_protocol::args::parse_f64(arg).ok_or_else(|| CmdError::new(not_numeric))
}

/// `radius unit` → (extent, meters per unit).
fn parse_radius(radius: &[u8], unit: &[u8]) -> Result<(Extent, f64), CmdError> {
    let radius = parse_measure(radius, "ERR need numeric radius")?;
    if radius < 0.0 {
        return Err(CmdError::new("ERR radius cannot be negative"));
    }
    Ok((Extent::Radius(radius), parse_unit(unit)?))
}

/// `width height unit` → (extent, meters per unit).
fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(Extent, f64), CmdError> {
    let width = parse_measure(width, "ERR need numeric width")?;
    let height = parse_measure(height, "ERR need numeric height")?;
    if width < 0.0 || height < 0.0 {
        return Err(CmdError::new("ERR height or width cannot be negative"));
    }
    Ok((Extent::Box { width, height }, parse_unit(unit)?))
}

/// A distance as Redis prints it: four decimals, as a bulk string.
fn distance_reply(meters_in_unit: f64) -> Reply {
    Reply::bulk(format!("{meters_in_unit:.4}"))
}

/// A coordinate as Redis's `addReplyHumanLongDouble`: a double in RESP3; in RESP2 a bulk
/// string with 17 decimals, trailing zeros dropped.
fn coordinate_reply(ctx: &Ctx, value: f64) -> Reply {
    if ctx.client.resp == RespVersion::Resp3 {
        return Reply::Double(value);
    }
    let text = format!("{value:.17}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    Reply::bulk(text.to_string())
}

fn position_reply(ctx: &Ctx, (lon, lat): (f64, f64)) -> Reply {
    Reply::Array(vec![coordinate_reply(ctx, lon), coordinate_reply(ctx, lat)])
}

/// GEOADD key [NX|XX] [CH] lon lat member [lon lat member ...]
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut first = 2;
    while first < args.len() {
        match args[first].to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"ch" => ch = true,
            _ => break,
        }
        first += 1;
    }
    let triples = &args[first..];
    if triples.is_empty() || !triples.len().is_multiple_of(3) || (nx && xx) {
        return Err(errors::syntax());
    }
    let points = triples
        .chunks(3)
        .map(|t| {
            let (lon, lat) = parse_lon_lat(&t[0], &t[1])?;
            let score = geo::score_of(lon, lat).expect("coordinates were validated");
            Ok((score as f64, &t[2]))
        })
        .collect::<Result<Vec<_>, CmdError>>()?;

    let mut txn = ctx.txn_args(&args[1..2]);
    if xx && zset::load(&mut txn, key)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let mut set = open_or_create(ctx, &mut txn, key)?;
    let mut changes = Changes::default();
    let (mut added, mut updated) = (0, 0);
    for (score, member) in points {
        let old = changes.score(&set.index.lock(), member);
        match old {
            Some(_) if nx => continue,
            None if xx => continue,
            Some(old) if old == score => continue,
            Some(_) => updated += 1,
            None => added += 1,
        }
        zset::set_score(
            &mut txn,
            key,
            &mut set.meta,
            member,
            old,
            score,
            &mut changes,
        );
    }
    finish(ctx, txn, key, set, changes, "zadd")?;
    Ok(Reply::Int(if ch { added + updated } else { added }))
}

/// The decoded position of each member of an existing geo set (`None` = not a member).
fn positions(set: Option<&Opened>, members: &[Bytes]) -> Vec<Option<(f64, f64)>> {
    let index = set.map(|s| s.index.lock());
    members
        .iter()
        .map(|m| {
            let score = index.as_ref().and_then(|i| i.score(m))?;
            Some(geo::decode_score(score))
        })
        .collect()
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => parse_unit(&args[4])?,
        _ => return Err(errors::syntax()),
    };
    let mut txn = ctx.txn_args(&args[1..2]);
    let Some(set) = open(ctx, &mut txn, &args[1])? else {
        return Ok(Reply::Nil);
    };
    match positions(Some(&set), &args[2..4])[..] {
        [Some(a), Some(b)] => Ok(distance_reply(
            geo::distance(a.0, a.1, b.0, b.1) / to_meters,
        )),
        _ => Ok(Reply::Nil),
    }
}

/// GEOHASH key [member ...]
fn geohash(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let set = open(ctx, &mut txn, &args[1])?;
    let index = set.as_ref().map(|s| s.index.lock());
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|m| match index.as_ref().and_then(|i| i.score(m)) {
                Some(score) => Reply::bulk(geo::standard_geohash(score)),
                None => Reply::Nil,
            })
            .collect(),
    ))
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut txn = ctx.txn_args(&args[1..2]);
    let set = open(ctx, &mut txn, &args[1])?;
    Ok(Reply::Array(
        positions(set.as_ref(), &args[2..])
            .into_iter()
            .map(|p| p.map_or(Reply::NilArray, |p| position_reply(ctx, p)))
            .collect(),
    ))
}

/// Which search command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS[_RO] key lon lat radius unit ...
    Radius,
    /// GEORADIUSBYMEMBER[_RO] key member radius unit ...
    ByMember,
    /// GEOSEARCH key FROM... BY... ...
    Search,
    /// GEOSEARCHSTORE dst src FROM... BY... ... [STOREDIST]
    SearchStore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Asc,
    Desc,
}

/// A parsed search command.
#[derive(Debug, Default)]
struct Request {
    center: Option<(f64, f64)>,
    /// The extent and the meters per unit.
    extent: Option<(Extent, f64)>,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    order: Option<Order>,
    /// At most this many results (0 = all).
    count: usize,
    /// Stop scanning once `count` points are found (COUNT n ANY).
    any: bool,
    /// The destination key, and whether to store distances instead of geohashes.
    store: Option<(Bytes, bool)>,
    from_given: bool,
    by_given: bool,
}

/// How a search finds a member's position: `None` when the source key does not exist
/// (Redis then keeps parsing and answers empty).
type MemberLookup<'l> = Option<&'l dyn Fn(&[u8]) -> Option<(f64, f64)>>;

fn undecodable_member() -> CmdError {
    CmdError::new("ERR could not decode requested zset member")
}

/// Parses a search command in Redis's order, so the first error is the one Redis reports.
fn parse_request(
    form: Form,
    read_only: bool,
    args: &[Bytes],
    lookup: MemberLookup,
) -> Result<Request, CmdError> {
    let mut req = Request::default();
    let base = match form {
        Form::Radius => {
            req.center = Some(parse_lon_lat(&args[2], &args[3])?);
            req.extent = Some(parse_radius(&args[4], &args[5])?);
            6
        }
        Form::ByMember => {
            if let Some(lookup) = lookup {
                req.center = Some(lookup(&args[2]).ok_or_else(undecodable_member)?);
                req.extent = Some(parse_radius(&args[3], &args[4])?);
            }
            5
        }
        Form::Search => 2,
        Form::SearchStore => {
            req.store = Some((args[1].clone(), false));
            3
        }
    };
    let geosearch = matches!(form, Form::Search | Form::SearchStore);
    let accepts_store = !geosearch && !read_only;
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let rest = &args[base..];
    let mut i = 0;
    while i < rest.len() {
        let left = rest.len() - i - 1;
        let arg = rest[i].to_ascii_lowercase();
        match arg.as_slice() {
            b"withdist" => req.with_dist = true,
            b"withhash" => req.with_hash = true,
            b"withcoord" => req.with_coord = true,
            b"any" => req.any = true,
            b"asc" => req.order = Some(Order::Asc),
            b"desc" => req.order = Some(Order::Desc),
            b"count" if left >= 1 => {
                let count = errors::int_arg(&rest[i + 1])?;
                if count <= 0 {
                    return Err(CmdError::new("ERR COUNT must be > 0"));
                }
                req.count = count as usize;
                i += 1;
            }
            b"store" | b"storedist" if left >= 1 && accepts_store => {
                req.store = Some((rest[i + 1].clone(), arg == b"storedist"));
                i += 1;
            }
            b"storedist" if form == Form::SearchStore => {
                req.store = Some((args[1].clone(), true));
            }
            b"frommember" if left >= 1 && geosearch && !from_lonlat => {
                if let Some(lookup) = lookup {
                    req.center = Some(lookup(&rest[i + 1]).ok_or_else(undecodable_member)?);
                }
                from_member = true;
                i += 1;
            }
            b"fromlonlat" if left >= 2 && geosearch && !from_member => {
                req.center = Some(parse_lon_lat(&rest[i + 1], &rest[i + 2])?);
                from_lonlat = true;
                i += 2;
            }
            b"byradius" if left >= 2 && geosearch && !by_box => {
                req.extent = Some(parse_radius(&rest[i + 1], &rest[i + 2])?);
                by_radius = true;
                i += 2;
            }
            b"bybox" if left >= 3 && geosearch && !by_radius => {
                req.extent = Some(parse_box(&rest[i + 1], &rest[i + 2], &rest[i + 3])?);
                by_box = true;
                i += 3;
            }
            _ => return Err(errors::syntax()),
        }
        i += 1;
    }
    req.from_given = from_member || from_lonlat;
    req.by_given = by_radius || by_box;
    Ok(req)
}

/// The checks Redis makes once every option is read.
fn validate(form: Form, name: &[u8], req: &Request) -> Result<(), CmdError> {
    if req.store.is_some() && (req.with_dist || req.with_hash || req.with_coord) {
        let what = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::new(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(name);
    let geosearch = matches!(form, Form::Search | Form::SearchStore);
    if geosearch && !req.from_given {
        return Err(CmdError::new(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if geosearch && !req.by_given {
        return Err(CmdError::new(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if req.any && req.count == 0 {
        return Err(CmdError::new(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    Ok(())
}

/// A point a search found.
struct Found {
    member: Vec<u8>,
    score: f64,
    /// Distance from the centre in meters.
    meters: f64,
    position: (f64, f64),
}

/// Scans the boxes covering `shape` and keeps the points inside it, in scan order; with
/// `limit` > 0, stops once that many are found (Redis's ANY).
fn points_in_shape(index: &ZIndex, shape: &Shape, limit: usize) -> Vec<Found> {
    let mut found = Vec::new();
    for hash_box in shape.covering_boxes() {
        if limit > 0 && found.len() >= limit {
            break;
        }
        let (min, max) = geo::score_range(hash_box);
        let (min, max) = (min as f64, max as f64);
        let start = index.count_below(|s, _| s < min);
        let end = index.count_below(|s, _| s < max);
        for (score, member) in index.range(start, end.max(start)) {
            let position = geo::decode_score(score);
            if let Some(meters) = shape.distance_if_inside(position.0, position.1) {
                found.push(Found {
                    member,
                    score,
                    meters,
                    position,
                });
                if limit > 0 && found.len() >= limit {
                    break;
                }
            }
        }
    }
    found
}

/// The search command's shape (the request was validated, so both parts are there).
fn shape_of(req: &Request) -> Shape {
    let (longitude, latitude) = req.center.expect("validated: a centre");
    let (extent, conversion) = req.extent.expect("validated: an extent");
    Shape {
        longitude,
        latitude,
        extent,
        conversion,
    }
}

/// Sorts as asked (COUNT without an order means ascending, unless ANY) and truncates.
fn order_results(req: &Request, mut found: Vec<Found>) -> Vec<Found> {
    let order = match req.order {
        None if req.count > 0 && !req.any => Some(Order::Asc),
        order => order,
    };
    match order {
        Some(Order::Asc) => found.sort_by(|a, b| a.meters.total_cmp(&b.meters)),
        Some(Order::Desc) => found.sort_by(|a, b| b.meters.total_cmp(&a.meters)),
        None => {}
    }
    if req.count > 0 {
        found.truncate(req.count);
    }
    found
}

fn result_reply(ctx: &Ctx, req: &Request, conversion: f64, found: Vec<Found>) -> Reply {
    let with_any = req.with_dist || req.with_hash || req.with_coord;
    Reply::Array(
        found
            .into_iter()
            .map(|f| {
                if !with_any {
                    return Reply::bulk(f.member);
                }
                let mut item = vec![Reply::bulk(f.member)];
                if req.with_dist {
                    item.push(distance_reply(f.meters / conversion));
                }
                if req.with_hash {
                    item.push(Reply::Int(f.score as i64));
                }
                if req.with_coord {
                    item.push(position_reply(ctx, f.position));
                }
                Reply::Array(item)
            })
            .collect(),
    )
}

/// GEORADIUS, GEORADIUSBYMEMBER, their _RO forms, GEOSEARCH and GEOSEARCHSTORE.
fn geo_search(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = args[0].to_ascii_lowercase();
    let read_only = name.ends_with(b"_ro");
    let form = match name.as_slice() {
        b"georadius" | b"georadius_ro" => Form::Radius,
        b"georadiusbymember" | b"georadiusbymember_ro" => Form::ByMember,
        b"geosearch" => Form::Search,
        _ => Form::SearchStore,
    };
    let src = if form == Form::SearchStore {
        &args[2]
    } else {
        &args[1]
    };
    // The destination must be locked with the source, so find it first: parsing without
    // member lookups reads the same options (only errors can differ, and errors write
    // nothing).
    let dst = parse_request(form, read_only, args, None)
        .ok()
        .and_then(|r| r.store.map(|(key, _)| key));
    let mut keys: Vec<&[u8]> = vec![src];
    if let Some(dst) = &dst {
        keys.push(dst);
    }
    let mut txn = ctx.txn(&keys);
    let set = open(ctx, &mut txn, src)?;
    let req = match &set {
        Some(set) => {
            let lookup = |member: &[u8]| set.index.lock().score(member).map(geo::decode_score);
            parse_request(form, read_only, args, Some(&lookup))?
        }
        None => parse_request(form, read_only, args, None)?,
    };
    validate(form, &args[0], &req)?;
    let store_event = if form == Form::SearchStore {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    let Some(set) = set else {
        return match &req.store {
            Some((dst, _)) => store_result(ctx, txn, dst, Vec::new(), store_event),
            None => Ok(Reply::Array(Vec::new())),
        };
    };
    let shape = shape_of(&req);
    let limit = if req.any { req.count } else { 0 };
    let found = points_in_shape(&set.index.lock(), &shape, limit);
    let found = order_results(&req, found);
    drop(set);
    match &req.store {
        None => Ok(result_reply(ctx, &req, shape.conversion, found)),
        Some((dst, store_dist)) => {
            let entries: Vec<Entry> = found
                .into_iter()
                .map(|f| {
                    let score = if *store_dist {
                        f.meters / shape.conversion
                    } else {
                        f.score
                    };
                    (score, f.member)
                })
                .collect();
            store_result(ctx, txn, dst, entries, store_event)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<Bytes> {
        text.split_whitespace()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn parse_finds_the_store_key_without_lookups() {
        let a = args("georadiusbymember src m -1 km store dst");
        let req = parse_request(Form::ByMember, false, &a, None).unwrap();
        assert_eq!(req.store, Some((Bytes::from_static(b"dst"), false)));
        let a = args("geosearchstore dst src frommember m byradius 1 km storedist");
        let req = parse_request(Form::SearchStore, false, &a, None).unwrap();
        assert_eq!(req.store, Some((Bytes::from_static(b"dst"), true)));
    }

    #[test]
    fn read_only_forms_reject_store() {
        let a = args("georadius_ro src 1 1 1 km store dst");
        assert!(parse_request(Form::Radius, true, &a, None).is_err());
    }

    #[test]
    fn coordinates_are_checked() {
        let err = parse_lon_lat(b"200", b"100").unwrap_err();
        assert_eq!(
            err.0,
            "ERR invalid longitude,latitude pair 200.000000,100.000000"
        );
    }
}
