//! `bit`: LuaBitOp's 32-bit operations on Lua numbers.

use mlua::{Lua, Table, Variadic};

/// Normalises a Lua number to a signed 32-bit integer (LuaBitOp's `tobit`): rounded, then
/// taken modulo 2^32.
fn tobit(n: f64) -> i32 {
    let wrapped = n.round().rem_euclid(4294967296.0);
    wrapped as u32 as i32
}

fn fold(args: Variadic<f64>, op: fn(i32, i32) -> i32) -> mlua::Result<f64> {
    let mut iter = args.iter();
    let first = iter
        .next()
        .ok_or_else(|| super::lua_error("bad argument #1 (number expected, got no value)"))?;
    Ok(iter.fold(tobit(*first), |acc, n| op(acc, tobit(*n))) as f64)
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    bit.set(
        "tobit",
        lua.create_function(|_, n: f64| Ok(tobit(n) as f64))?,
    )?;
    bit.set(
        "bnot",
        lua.create_function(|_, n: f64| Ok(!tobit(n) as f64))?,
    )?;
    bit.set("band", lua.create_function(|_, a| fold(a, |x, y| x & y))?)?;
    bit.set("bor", lua.create_function(|_, a| fold(a, |x, y| x | y))?)?;
    bit.set("bxor", lua.create_function(|_, a| fold(a, |x, y| x ^ y))?)?;
    let shift = |op: fn(i32, u32) -> i32| {
        move |_: &Lua, (n, by): (f64, f64)| Ok(op(tobit(n), (tobit(by) & 31) as u32) as f64)
    };
    bit.set(
        "lshift",
        lua.create_function(shift(|x, s| x.wrapping_shl(s)))?,
    )?;
    bit.set(
        "rshift",
        lua.create_function(shift(|x, s| ((x as u32) >> s) as i32))?,
    )?;
    bit.set("arshift", lua.create_function(shift(|x, s| x >> s))?)?;
    bit.set(
        "rol",
        lua.create_function(shift(|x, s| (x as u32).rotate_left(s) as i32))?,
    )?;
    bit.set(
        "ror",
        lua.create_function(shift(|x, s| (x as u32).rotate_right(s) as i32))?,
    )?;
    bit.set(
        "bswap",
        lua.create_function(|_, n: f64| Ok(tobit(n).swap_bytes() as f64))?,
    )?;
    bit.set(
        "tohex",
        lua.create_function(|_, (n, digits): (f64, Option<f64>)| {
            let digits = digits.map(tobit).unwrap_or(8);
            let upper = digits < 0;
            let width = digits.unsigned_abs().min(8) as usize;
            let value = tobit(n) as u32 as u64;
            let masked = if width >= 8 {
                value
            } else {
                value & ((1u64 << (width * 4)) - 1)
            };
            Ok(if upper {
                format!("{masked:0width$X}")
            } else {
                format!("{masked:0width$x}")
            })
        })?,
    )?;
    Ok(bit)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps_like_luabitop() {
        assert_eq!(tobit(1.0), 1);
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
    }
}
