// A crash signature: the panic class plus the first meaningful frames, normalised so that the
// same bug on another kernel build or host gives the same text (docs/analyze.md, "Signature").
// Pure: frames in, signature out. Both reports make one: `kdbg analyze` from crash's call chain,
// `analyze --no-fetch` from the log's oops (pipeline/signature.ts), so the two agree.

import { createHash } from 'node:crypto';
import { RULES } from './triage-rules.js';
import type { ChainEntry } from './call-chain.js';
import type { FaultLocation, PanicClass } from './triage-types.js';

export interface SignatureFrame {
  function: string;
  module: string | null;
}

export interface CrashSignature {
  /** First 12 hex digits of sha256(text). */
  id: string;
  /** "null-dereference: kdbg_oops_read_value [kdbg_oops] < kdbg_oops_write [kdbg_oops] < proc_reg_write". */
  text: string;
  class: PanicClass;
  /** The frames the text was made from, innermost first, normalised. */
  frames: SignatureFrame[];
}

/** One entry of a trace as either source gives it; `reliable: false` is the log's "? fn". */
export interface TraceFrame {
  function: string | null;
  module: string | null;
  reliable?: boolean;
}

/** How many meaningful frames make a signature: enough to tell callers apart, few enough to survive inlining changes. */
export const SIGNATURE_FRAMES = 3;

/**
 * Frames that say how the kernel reported the crash, not where it went wrong: panic/oops/die,
 * the exception and NMI entry code, the page-fault path, WARN/BUG reporting, stack dumping and
 * printk, the lockup detectors' timer/perf callbacks, syscall/IRQ entry and the kthread trampoline.
 * They are dropped wherever they stand. SysRq's own frames (sysrq_handle_crash, __handle_sysrq)
 * are kept: they say who asked for the crash (the trigger file vs a keyboard).
 */
export const GENERIC_FRAME = new RegExp(
  '^(?:' +
    [
      'v?panic', 'nmi_panic', '__crash_kexec', 'crash_kexec', 'machine_kexec', 'oops_end', 'oops_begin', 'die', '__die', '__die_body', 'die_addr', 'die_kernel_fault',
      'do_trap', 'do_error_trap', 'do_int3\\w*', 'exc_\\w+', 'asm_exc_\\w+', 'do_general_protection', 'general_protection', 'do_divide_error', 'divide_error',
      'do_invalid_op', 'invalid_op', 'page_fault_oops', 'no_context', '__bad_area_nosemaphore', 'bad_area_nosemaphore', 'bad_area', 'do_user_addr_fault',
      'handle_page_fault', 'page_fault', 'do_page_fault', '__do_page_fault', 'async_page_fault', 'kernelmode_fixup_or_oops', 'do_kern_addr_fault', 'spurious_kernel_fault',
      '__warn', 'warn_slowpath_\\w+', 'report_bug', 'handle_bug', 'fixup_exception',
      'default_do_nmi', 'do_nmi', 'nmi_handle', 'end_repeat_nmi', 'repeat_nmi', 'nmi', 'first_nmi', 'nmi_restore',
      'dump_stack\\w*', 'dump_backtrace\\w*', 'show_stack', 'show_trace_log_lvl', 'show_regs', '__show_regs', 'print_trace_address', 'printk', '_printk', 'vprintk\\w*',
      'watchdog_timer_fn', 'watchdog_overflow_callback', '__perf_event_overflow', 'perf_event_overflow', 'perf_event_nmi_handler', 'x86_pmu_handle_irq', 'intel_pmu_handle_irq', 'amd_pmu_handle_irq',
      '__hrtimer_run_queues', 'hrtimer_interrupt', '__sysvec_apic_timer_interrupt', 'sysvec_\\w+', 'asm_sysvec_\\w+', 'common_interrupt', 'asm_common_interrupt', 'irq_exit_rcu', '__irq_exit_rcu',
      'entry_SYSCALL_64\\w*', 'do_syscall_64', 'entry_SYSCALL_compat\\w*', 'do_fast_syscall_32', 'ret_from_fork\\w*', 'kthread',
      'el1h?_64_sync\\w*', 'el1_abort', 'el1_sync\\w*', 'el1_dbg', 'el1_undef', 'do_mem_abort', '__do_kernel_fault', 'do_translation_fault', 'do_el0_svc', 'el0_svc\\w*', 'el0t_64_sync\\w*', 'invoke_syscall', 'bug_handler', 'call_break_hook', 'brk_handler', 'do_debug_exception', 'arm64_notify_die',
      '__stack_chk_fail', 'fortify_panic', '__fortify_panic', '__fortify_report',
    ].join('|') +
    ')$',
);

/** "fn.isra.0.cold+0x5/0x10" → "fn": offsets and the compiler's clone suffixes go. */
export function normalizeFunction(name: string): string {
  let f = name.trim().replace(/\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?$/i, '').replace(/\+\d+$/, '');
  // gcc/clang clones: .isra.N .constprop.N .part.N .cold(.N) .llvm.N .lto_priv.N, in any order and number.
  for (;;) {
    const g = f.replace(/\.(?:isra|constprop|part|cold|llvm|lto_priv|clone|localalias)(?:\.\d+)?$/, '');
    if (g === f) break;
    f = g;
  }
  return f;
}

/** `[kdbg_oops(OE)]`-style taint marks and brackets off a module name. */
function normalizeModule(m: string | null): string | null {
  if (!m) return null;
  const s = m.replace(/^\[|\]$/g, '').replace(/\(.*\)$/, '').trim();
  return s === '' ? null : s;
}

/** The meaningful frames of a trace, innermost first: no "?" entries, no generic frames, no repeats in a row. */
export function meaningfulFrames(trace: readonly TraceFrame[]): SignatureFrame[] {
  const out: SignatureFrame[] = [];
  for (const t of trace) {
    if (t.reliable === false || !t.function) continue;
    const fn = normalizeFunction(t.function);
    if (fn === '' || /^0x[0-9a-f]+$/i.test(fn) || GENERIC_FRAME.test(fn)) continue;
    const mod = normalizeModule(t.module);
    const prev = out.at(-1);
    // crash shows an exception RIP and then the same function as a frame (the NMI dump): one entry.
    if (prev && prev.function === fn) {
      if (prev.module === null) prev.module = mod;
      continue;
    }
    out.push({ function: fn, module: mod });
  }
  return out;
}

export function signatureText(cls: PanicClass, frames: readonly SignatureFrame[]): string {
  const fr = frames.map((f) => (f.module ? `${f.function} [${f.module}]` : f.function));
  return `${cls}: ${fr.length ? fr.join(' < ') : '(no frames)'}`;
}

/** The signature of a trace (innermost first) under a panic class. */
export function crashSignature(cls: PanicClass, trace: readonly TraceFrame[], count = SIGNATURE_FRAMES): CrashSignature {
  const frames = meaningfulFrames(trace).slice(0, count);
  const text = signatureText(cls, frames);
  return { id: createHash('sha256').update(text).digest('hex').slice(0, 12), text, class: cls, frames };
}

/**
 * The panic class from report text (the oops headline, the panic message), with triage's own
 * rules, so the first look names the class the full analysis does; null when no rule matches.
 */
export function classFromText(lines: readonly (string | null)[]): PanicClass | null {
  for (const l of lines) {
    if (!l) continue;
    for (const r of RULES) if (r.re.test(l)) return r.cls;
  }
  return null;
}

/**
 * The full analysis' signature: crash's call chain of the panicking task (exception RIP first).
 * An exception RIP has no module in bt; the fault location (from the log's RIP line) names it.
 * When bt holds nothing meaningful (crash stopped at `panic`), the culprit triage chose stands in.
 */
export function chainSignature(cls: PanicClass, chain: readonly ChainEntry[], location: FaultLocation | null): CrashSignature {
  const trace: TraceFrame[] = chain.map((c) => ({ function: c.function, module: c.module ?? (location && c.kind === 'exception' && normalizeFunction(location.function) === normalizeFunction(c.function) ? location.module : null) }));
  if (meaningfulFrames(trace).length === 0 && location) trace.push({ function: location.function, module: location.module });
  return crashSignature(cls, trace);
}
