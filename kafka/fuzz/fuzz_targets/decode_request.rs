//! Feeds arbitrary bytes to the frame parser and request decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = chronik_kafka::codec::fuzz_decode(data, 1 << 20);
});
