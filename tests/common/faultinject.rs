//! The fault-injection shim (`tests/faultinject/faultinject.c`) seen from
//! inside a child, and the `S <step> ...` lines such children print.

use std::io::Write;

use super::shim::symbol;

/// Whether the shim has injected its fault (false without the shim).
pub fn fired() -> bool {
    let sym = symbol(c"faultinject_fired");
    if sym.is_null() {
        return false;
    }
    // SAFETY: the shim defines `int faultinject_fired(void)`.
    let f: extern "C" fn() -> libc::c_int = unsafe { std::mem::transmute(sym) };
    f() != 0
}

/// Stops the shim: no more faults (a healthy disk again).
pub fn stop() {
    let sym = symbol(c"faultinject_stop");
    if !sym.is_null() {
        // SAFETY: the shim defines `void faultinject_stop(void)`.
        let f: extern "C" fn() = unsafe { std::mem::transmute(sym) };
        f();
    }
}

/// Prints `S <step> ok fired=<0|1>` or `S <step> err <kind> fired=<0|1> <message>`.
pub fn say(out: &mut impl Write, step: &str, r: &vecstore::Result<()>) {
    match r {
        Ok(()) => writeln!(out, "S {step} ok fired={}", fired() as u8).unwrap(),
        Err(e) => writeln!(
            out,
            "S {step} err {:?} fired={} {e}",
            e.kind(),
            fired() as u8
        )
        .unwrap(),
    }
    out.flush().unwrap();
}
