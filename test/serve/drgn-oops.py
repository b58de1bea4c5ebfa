# What a fleet host asks drgn about a kernel module's oops, as a drgn script (drgn 0.0.22, Debian
# 12's python3-drgn; `drgn -c VMCORE -s VMLINUX [-s MODULE_FILE] drgn-oops.py MODULE TYPE`),
# printed as one JSON object for test/serve/drgn.test.ts:
# - the module as the dump holds it: its load address and the build-id of its
#   .note.gnu.build-id, read from the module's sysfs note attributes in the dump's memory (vmlinux
#   types only; drgn 0.0.22 has no helper for a module's build-id);
# - the oops: the `struct pt_regs` the page-fault entry pushed on the crashed task's stack, found by
#   its shape (ip in the module's text, kernel CS and SS, sp inside the stack). The dump's own
#   registers are those of the CPU paused by pvpanic in the pvpanic module, whose debuginfo is not
#   loaded, so drgn cannot unwind from them down to the oops;
# - what only the module's DWARF gives: the symbol at the oops RIP, the frames drgn unwinds from
#   those registers (names and source lines), and the module's own struct type.
import json
import struct
import sys

from drgn import Object, offsetof
from drgn.helpers.linux.list import list_for_each_entry

NT_GNU_BUILD_ID = 3
want, want_type = sys.argv[1], sys.argv[2]
out = {"release": prog["init_uts_ns"].name.release.string_().decode()}


def note_build_id(data):
    """The NT_GNU_BUILD_ID descriptor of one ELF note, or None."""
    namesz, descsz, typ = struct.unpack_from("<III", data)
    desc = 12 + ((namesz + 3) & ~3)
    if typ != NT_GNU_BUILD_ID or data[12 : 12 + namesz] != b"GNU\0":
        return None
    return data[desc : desc + descsz].hex()


def text_of(mod):
    """(base, text size) of a module: core_layout before 6.4, mem[MOD_TEXT] since."""
    try:
        layout = mod.core_layout
        return int(layout.base), int(layout.text_size)
    except AttributeError:
        return int(mod.mem[0].base), int(mod.mem[0].size)


modules = []
for mod in list_for_each_entry("struct module", prog["modules"].address_of_(), "list"):
    base, text = text_of(mod)
    build_id = None
    attrs = mod.notes_attrs
    for i in range(int(attrs.notes) if attrs else 0):
        a = attrs.attrs[i]
        build_id = build_id or note_build_id(prog.read(int(a.private), int(a.size)))
    modules.append({"name": mod.name.string_().decode(), "base": base, "textSize": text, "buildId": build_id})
# Addresses as hex strings: JSON readers lose bits above 2^53.
out["modules"] = [dict(m, base=hex(m["base"])) for m in modules]

target = next(m for m in modules if m["name"] == want)
task = prog.crashed_thread().object
stack, size = int(task.stack), 16384  # x86_64 THREAD_SIZE without KASAN (a macro: not in DWARF)
words = struct.unpack("<%dQ" % (size // 8), prog.read(stack, size))
regs_type = prog.type("struct pt_regs")
ip = offsetof(regs_type, "ip") // 8
cs, sp, ss = (offsetof(regs_type, f) // 8 - ip for f in ("cs", "sp", "ss"))
found = [
    stack + 8 * (i - ip)
    for i in range(ip, len(words) - ss)
    if target["base"] <= words[i] < target["base"] + target["textSize"]
    and words[i + cs] == 0x10  # __KERNEL_CS
    and words[i + ss] == 0x18  # __KERNEL_DS
    and stack <= words[i + sp] < stack + size
]
out["crashedPid"] = int(task.pid)
out["regs"] = [hex(a) for a in found]
if len(found) == 1:
    regs = Object(prog, regs_type, address=found[0])
    rip = int(regs.ip)
    out["rip"] = hex(rip)
    try:
        sym = prog.symbol(rip)
    except LookupError:
        sym = None
    out["symbol"] = sym.name if sym else None
    if sym:
        out["symbolAddress"] = hex(sym.address)
        # The same function by its DWARF (the symbol above is the ELF symbol table's).
        try:
            out["functionAddress"] = hex(prog.function(sym.name).address_)
        except LookupError:
            out["functionAddress"] = None
    frames = []
    for f in prog.stack_trace(regs):
        try:
            file, line, _ = f.source()
        except LookupError:
            file, line = None, None
        frames.append({"name": f.name, "pc": hex(f.pc), "file": file, "line": line})
    out["frames"] = frames

try:
    t = prog.type(want_type)
    out["type"] = {"name": str(t.type_name()), "members": {m.name: m.bit_offset // 8 for m in t.members}}
except LookupError:
    out["type"] = None
print(json.dumps(out))
