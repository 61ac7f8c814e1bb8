//! The bf16 products on Intel AMX tiles (`tdpbf16ps`), where the CPU has them (Sapphire
//! Rapids and later): each instruction multiplies a 16-row × 32-bf16 tile by a 32 × 16
//! tile into 16 × 16 f32 sums, eight times the work of an AVX-512 `vdpbf16ps` per step.
//!
//! The operands are the ones [`super::bf16`] packs for its AVX-512 micro-kernel, unchanged:
//! a packed left-operand row is its inner pairs in order (a tile row of 16 pairs, read 64
//! bytes at a time), and a right-operand panel holds each pair's [`NR`] columns side by side
//! (the tile layout AMX calls VNNI: pair rows of 16 columns, [`NR`] · 4 bytes apart). This
//! module computes the blocks of 16 rows and 16 inner pairs; [`super::bf16`]'s AVX-512
//! micro-kernel adds the rest (the last rows and pairs), so no operand needs more padding.
//!
//! Written with `asm!` because Rust's AMX intrinsics are unstable and no crate offers them
//! on stable Rust. Linux hands AMX's 8 KiB register state to a process only when it asks
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM)`), which [`available`] does once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::bf16::NR;

/// Rows of a tile (and of a left-operand block).
pub(super) const TILE_ROWS: usize = 16;
/// Inner pairs of a tile step: 64 bytes of a tile row.
pub(super) const TILE_PAIRS: usize = 16;

/// Whether bf16 products may use AMX where it is [`available`] (see [`enable`]).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// True when this CPU has AMX with bf16 tiles and Linux granted this process their use
/// (asked once, on the first call).
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(detect)
}

/// Lets (`true`, the default) or stops bf16 products using AMX in this process from now
/// on: without it they run on AVX512-BF16, to compare the two. A setting of the whole
/// process, made before any work.
pub fn enable(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// True when bf16 products run on AMX: [`available`] and not switched off by [`enable`].
pub fn in_use() -> bool {
    ENABLED.load(Ordering::Relaxed) && available()
}

/// True when CPUID reports AMX with bf16 tiles, whether or not the OS grants them.
pub fn cpu_has_tiles() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        raw_cpuid::CpuId::new()
            .get_extended_feature_info()
            .is_some_and(|features| features.has_amx_bf16() && features.has_amx_tile())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    cpu_has_tiles() && super::bf16::available() && x86::request_permission()
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub(crate) mod x86 {
    use std::arch::asm;

    use super::{NR, TILE_PAIRS, TILE_ROWS};

    /// `arch_prctl` requests of Linux's `asm/prctl.h`, and the state component of the tile
    /// data (XTILEDATA, bit 18 of XCR0).
    const ARCH_GET_XCOMP_PERM: libc::c_long = 0x1022;
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;

    /// Asks Linux for the tile registers (for every thread of the process) and checks that
    /// it granted them: an older kernel, or one that has them switched off, refuses.
    pub(super) fn request_permission() -> bool {
        // Safety: both requests only read or set this process's permission bits; the
        // second writes one u64 through a pointer to a live local.
        unsafe {
            if libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) != 0
            {
                return false;
            }
            let mut granted: u64 = 0;
            let asked = libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_GET_XCOMP_PERM,
                &mut granted as *mut u64,
            );
            asked == 0 && granted & (1 << XFEATURE_XTILEDATA) != 0
        }
    }

    /// The tile configuration `ldtilecfg` reads (palette 1): every tile 16 rows of 64
    /// bytes. Tiles 0–3 hold a 32 × 32 block of sums, 4–5 two 16-row slices of the left
    /// operand, 6–7 two 16-column slices of a right-operand panel.
    #[repr(C, align(64))]
    struct TileConfig {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    const CONFIG: TileConfig = {
        let mut bytes_per_row = [0; 16];
        let mut rows = [0; 16];
        let mut tile = 0;
        while tile < 8 {
            bytes_per_row[tile] = 64;
            rows[tile] = TILE_ROWS as u8;
            tile += 1;
        }
        TileConfig {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            bytes_per_row,
            rows,
        }
    };

    /// The tiles of this thread, configured for [`block`] until dropped, which releases
    /// them (so that Linux saves no tile state while the thread does other work).
    pub(crate) struct Tiles(());

    impl Tiles {
        /// Configures this thread's tiles.
        ///
        /// # Safety
        /// [`super::available`] must have returned true in this process.
        pub(crate) unsafe fn configure() -> Tiles {
            // Safety: the CPU has AMX and Linux granted it (the caller's promise); the
            // configuration is 64 readable bytes.
            unsafe {
                asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly, preserves_flags));
            }
            Tiles(())
        }
    }

    impl Drop for Tiles {
        fn drop(&mut self) {
            // Safety: a `Tiles` exists only where AMX is available.
            unsafe { asm!("tilerelease", options(nostack, nomem, preserves_flags)) };
        }
    }

    /// `c = a × b` (`c += a × b` when `add`) for a block of 16 · `row_tiles` rows (1 or 2)
    /// and 32 columns, over `steps` × [`TILE_PAIRS`] inner pairs:
    /// - `a`: the block's first packed row from its first pair on, rows `lda` pairs apart;
    /// - `b`: the panel from its first pair on, pair rows [`NR`] columns apart;
    /// - `c`: the block's first sum, rows `ldc` floats apart.
    ///
    /// # Safety
    /// `tiles` is configured on this thread; `a` addresses `16 · row_tiles` rows of `steps`
    /// · 16 pairs, `b` `steps` · 16 pair rows of 32 columns and `c` `16 · row_tiles` rows of
    /// 32 floats, all valid (and `c` writable).
    #[inline]
    pub(crate) unsafe fn block(
        _tiles: &Tiles,
        [a, b]: [*const u32; 2],
        c: *mut f32,
        [lda, ldc, steps, row_tiles]: [usize; 4],
        add: bool,
    ) {
        let (a_stride, b_stride, c_stride) = (lda * 4, NR * 4, ldc * 4);
        let (a1, c1) = (
            a.wrapping_add(TILE_ROWS * lda),
            c.wrapping_add(TILE_ROWS * ldc),
        );
        let two = row_tiles == 2;
        // Safety: the caller's promise; each tile load and store addresses 16 rows of 64
        // bytes within the blocks it describes.
        unsafe {
            if add {
                asm!(
                    "tileloadd tmm0, [{c} + {s}*1]",
                    "tileloadd tmm1, [{c16} + {s}*1]",
                    c = in(reg) c, c16 = in(reg) c.add(16), s = in(reg) c_stride,
                    options(nostack, readonly, preserves_flags)
                );
                if two {
                    asm!(
                        "tileloadd tmm2, [{c} + {s}*1]",
                        "tileloadd tmm3, [{c16} + {s}*1]",
                        c = in(reg) c1, c16 = in(reg) c1.add(16), s = in(reg) c_stride,
                        options(nostack, readonly, preserves_flags)
                    );
                }
            } else {
                asm!(
                    "tilezero tmm0",
                    "tilezero tmm1",
                    "tilezero tmm2",
                    "tilezero tmm3",
                    options(nostack, nomem, preserves_flags)
                );
            }
            for step in 0..steps {
                let (a, a1) = (a.add(step * TILE_PAIRS), a1.wrapping_add(step * TILE_PAIRS));
                let b = b.add(step * TILE_PAIRS * NR);
                asm!(
                    "tileloadd tmm4, [{a} + {sa}*1]",
                    "tileloadd tmm6, [{b} + {sb}*1]",
                    "tileloadd tmm7, [{b16} + {sb}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    a = in(reg) a, sa = in(reg) a_stride,
                    b = in(reg) b, b16 = in(reg) b.add(16), sb = in(reg) b_stride,
                    options(nostack, readonly, preserves_flags)
                );
                if two {
                    asm!(
                        "tileloadd tmm5, [{a} + {sa}*1]",
                        "tdpbf16ps tmm2, tmm5, tmm6",
                        "tdpbf16ps tmm3, tmm5, tmm7",
                        a = in(reg) a1, sa = in(reg) a_stride,
                        options(nostack, readonly, preserves_flags)
                    );
                }
            }
            asm!(
                "tilestored [{c} + {s}*1], tmm0",
                "tilestored [{c16} + {s}*1], tmm1",
                c = in(reg) c, c16 = in(reg) c.add(16), s = in(reg) c_stride,
                options(nostack, preserves_flags)
            );
            if two {
                asm!(
                    "tilestored [{c} + {s}*1], tmm2",
                    "tilestored [{c16} + {s}*1], tmm3",
                    c = in(reg) c1, c16 = in(reg) c1.add(16), s = in(reg) c_stride,
                    options(nostack, preserves_flags)
                );
            }
        }
    }
}
