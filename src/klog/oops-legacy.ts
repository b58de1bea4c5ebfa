// Lines of the 2.6.x report layout (RHEL 6 is 2.6.32) that later kernels no longer print:
//   "Pid: 4383, comm: clearcache.sh Tainted: P  --L---  2.6.32-696.23.1.el6.x86_64 #1 VMware, Inc. …"
//   "Process clearcache.sh (pid: 4383, threadinfo ffff88013c3e0000, task ffff88013c056ab0)"
//   "last sysfs file: /sys/devices/system/cpu/cpu15/cache/index2/shared_cpu_map"
// (shared/design/printk-and-oops.md §7.1). The 2.6.32 x86_64 __show_regs prints the Pid: line as
// "Pid: %d, comm: %.20s %s %s %.*s %s": taint, release, the version string up to its first blank
// ("#1"), then the DMI product (later el6 kernels: vendor and product/board). So the word after the
// release is the build and the rest is the hardware name, unlike 3.x+ "CPU: …", whose hardware has
// its own "Hardware name:" line.

import { parseTaintRelease } from './oops-lines.js';
import type { Oops } from './oops-types.js';

const PID = /^Pid: (\d+), comm: (.+?) ((?:Not tainted|Tainted: ).*)$/;
// x86 "threadinfo …, task …" (2.6.x), i386 "threadinfo=… task=…", 32-bit ARM "stack limit = 0x…".
const PROCESS = /^Process (.+) \(pid: (\d+), (?:threadinfo|stack limit)/;
const SYSFS = /^last sysfs file: (.*)$/;

/** Read one 2.6.x-only line into o; false when the line is none of them. */
export function parseLegacyLine(o: Oops, l: string): boolean {
  let m: RegExpExecArray | null;
  if ((m = PID.exec(l))) {
    const tr = parseTaintRelease(m[3]!);
    if (!tr) return false;
    o.pid = Number(m[1]);
    o.comm = m[2]!;
    o.tainted = tr.tainted;
    o.release = tr.release;
    const [version, ...board] = tr.rest.split(' ');
    o.build = version || null;
    if (board.join(' ').trim()) o.hardware ??= board.join(' ').trim();
    return true;
  }
  if ((m = PROCESS.exec(l))) {
    o.comm ??= m[1]!;
    o.pid ??= Number(m[2]);
    return true;
  }
  if ((m = SYSFS.exec(l))) {
    o.lastSysfsFile ??= m[1]!.trim();
    return true;
  }
  return false;
}
