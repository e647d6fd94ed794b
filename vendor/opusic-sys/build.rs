//! Builds the bundled libopus 1.6.1 (float) with the `cc` crate: the source lists come from
//! libopus's own `*_sources.mk` (the lists its autotools, CMake and Meson builds share), the
//! defines are the ones its CMake build sets for a release build with runtime CPU detection.
//!
//! Why not upstream's CMake build: it makes CMake a requirement of `cargo build` for the whole
//! workspace, and a newcomer with only Rust and a C compiler could not build tunemesh.
//!
//! x86 and x86_64: SSE and SSE2 where the target has them, SSE4.1 and AVX2 (with FMA) compiled
//! per file and chosen at run time (`OPUS_HAVE_RTCD`), as CMake does. Other architectures build
//! the portable C code (no intrinsics).

use std::collections::HashMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    for unsupported in ["dred", "osce", "fixed-point", "build-bindgen"] {
        let var = format!("CARGO_FEATURE_{}", unsupported.to_uppercase().replace('-', "_"));
        if env::var_os(var).is_some() {
            panic!("opusic-sys (tunemesh's vendored copy) does not support the `{unsupported}` feature");
        }
    }
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("opus");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=opus");

    let lists = source_lists(&root);
    let list = |name: &str| -> Vec<PathBuf> {
        lists
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in libopus's *_sources.mk"))
            .iter()
            .map(|file| root.join(file))
            .collect()
    };

    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |feature: &str| features.split(',').any(|f| f == feature);
    let simd = env::var_os("CARGO_FEATURE_NO_SIMD").is_none() && (arch == "x86_64" || arch == "x86");
    let detect = env::var_os("CARGO_FEATURE_NO_RUNTIME_FEATURE_DETECTION").is_none();

    let mut base = cc::Build::new();
    base.include(root.join("include"))
        .include(root.join("celt"))
        .include(root.join("silk"))
        .include(root.join("silk/float"))
        .include(&root)
        // Always optimised, as upstream's build script does (`CMAKE_BUILD_TYPE=Release` for every
        // cargo profile): the transcoder's tests and benchmarks run libopus, not debug code.
        .opt_level(3)
        .debug(false)
        .warnings(false)
        .define("OPUS_BUILD", None)
        .define("NDEBUG", None)
        .define("HAVE_LRINT", "1")
        .define("HAVE_LRINTF", "1");
    if base.get_compiler().is_like_msvc() {
        base.define("USE_ALLOCA", None);
    } else {
        base.define("VAR_ARRAYS", "1");
        if env::var_os("CARGO_FEATURE_NO_STACK_PROTECTOR").is_none() {
            base.flag_if_supported("-fstack-protector-strong");
        }
        if env::var_os("CARGO_FEATURE_NO_FORTIFY_SOURCE").is_none() {
            base.define("_FORTIFY_SOURCE", "2");
        }
    }
    if env::var_os("CARGO_FEATURE_NO_HARDENING").is_none() {
        base.define("ENABLE_HARDENING", None);
    }

    // Sources that need instruction-set flags of their own, with those flags.
    let mut simd_groups: Vec<(Vec<PathBuf>, &[&str])> = Vec::new();
    if simd {
        let presume = [
            ("sse", "OPUS_X86_PRESUME_SSE"),
            ("sse2", "OPUS_X86_PRESUME_SSE2"),
            ("sse4.1", "OPUS_X86_PRESUME_SSE4_1"),
        ];
        for (feature, define) in presume {
            if has(feature) {
                base.define(define, None);
            }
        }
        if has("avx2") && has("fma") {
            base.define("OPUS_X86_PRESUME_AVX2", None);
        }
        if detect {
            for define in [
                "OPUS_X86_MAY_HAVE_SSE",
                "OPUS_X86_MAY_HAVE_SSE2",
                "OPUS_X86_MAY_HAVE_SSE4_1",
                "OPUS_X86_MAY_HAVE_AVX2",
            ] {
                base.define(define, None);
            }
            base.define("OPUS_HAVE_RTCD", None).define("CPU_INFO_BY_C", None);
        }
        simd_groups.push(([list("CELT_SOURCES_SSE")].concat(), &["-msse"]));
        simd_groups.push(([list("CELT_SOURCES_SSE2")].concat(), &["-msse2"]));
        simd_groups.push((
            [list("CELT_SOURCES_SSE4_1"), list("SILK_SOURCES_SSE4_1")].concat(),
            &["-msse4.1"],
        ));
        simd_groups.push((
            [
                list("CELT_SOURCES_AVX2"),
                list("SILK_SOURCES_AVX2"),
                list("SILK_SOURCES_FLOAT_AVX2"),
            ]
            .concat(),
            &["-mavx", "-mfma", "-mavx2"],
        ));
    }

    let mut objects = Vec::new();
    for (files, flags) in &simd_groups {
        let mut build = base.clone();
        if !build.get_compiler().is_like_msvc() {
            for flag in *flags {
                build.flag(flag);
            }
        } else if flags.contains(&"-mavx2") {
            build.flag("/arch:AVX2");
        }
        build.files(files);
        objects.extend(build.compile_intermediates());
    }

    let mut main = base;
    main.files(list("CELT_SOURCES"))
        .files(list("SILK_SOURCES"))
        .files(list("SILK_SOURCES_FLOAT"))
        .files(list("OPUS_SOURCES"))
        .files(list("OPUS_SOURCES_FLOAT"));
    if simd && detect {
        main.files(list("CELT_SOURCES_X86_RTCD"))
            .files(list("SILK_SOURCES_X86_RTCD"));
    }
    main.objects(objects).compile("opus");
}

/// The `NAME = file file ...` lists of libopus's `celt_sources.mk`, `silk_sources.mk` and
/// `opus_sources.mk` (backslash-continued lines).
fn source_lists(root: &Path) -> HashMap<String, Vec<String>> {
    let mut lists = HashMap::new();
    for file in ["celt_sources.mk", "silk_sources.mk", "opus_sources.mk"] {
        let text = fs::read_to_string(root.join(file))
            .unwrap_or_else(|err| panic!("cannot read {file}: {err}"));
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            if let Some((name, files)) = line.split_once('=') {
                let files = files
                    .split_whitespace()
                    .filter(|file| file.ends_with(".c"))
                    .map(str::to_owned)
                    .collect();
                lists.insert(name.trim().to_owned(), files);
            }
        }
    }
    lists
}
