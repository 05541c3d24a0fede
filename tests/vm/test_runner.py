"""testbed.vm: the stock-kernel VM that runs what the host kernel cannot (netem first of all).

Two kinds of test. Without a VM: kernel selection, the missing-kernel error, quoting of the
command into the guest script, the output filter. With a VM (marked ``vm``; they skip with
the reason when none can boot here, and run on CI): two boots in all. One runs a small
Python script that reports the facts as JSON (kernel, root, folder, imports, netem on a veth
in a namespace read back with ``tc -j``, a write to a shared folder) and exits 7; the other
goes through the ``testbed vm`` command.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from testbed.errors import HostUnsuitable
from testbed.vm import find_stock_kernel, run_in_vm, vm_unavailable_reason
from testbed.vm.kernel import stock_kernels
from testbed.vm.runner import _guest_env, _guest_script, _Pump

REPO = Path(__file__).resolve().parents[2]
NO_VM = "already inside the testbed VM" if os.environ.get("TESTBED_IN_VM") else vm_unavailable_reason()


def needs_vm(test):
    """Marked ``vm``; skipped, with the reason, where no VM can boot."""
    return pytest.mark.vm(pytest.mark.skipif(NO_VM is not None, reason=f"no VM can boot here: {NO_VM}")(test))


FACTS = textwrap.dedent("""\
    import json, os, subprocess, sys
    facts = {"release": os.uname().release, "euid": os.geteuid(), "cwd": os.getcwd(),
             "executable": sys.executable, "in_vm": os.environ.get("TESTBED_IN_VM"),
             "carried": os.environ.get("TESTBED_VM_TEST_VALUE")}
    try:
        import pyroute2, testbed
        facts["imports"] = "ok"
    except Exception as exc:
        facts["imports"] = repr(exc)
    from testbed.host import kernel_supports_netem
    facts["kernel_supports_netem"] = kernel_supports_netem()
    def run(*argv):
        done = subprocess.run(argv, capture_output=True, text=True)
        return {"rc": done.returncode, "out": done.stdout, "err": done.stderr}
    facts["modprobe"] = run("modprobe", "sch_netem")
    facts["netns"] = run("ip", "netns", "add", "tbvm")
    facts["veth"] = run("ip", "-n", "tbvm", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
    facts["netem"] = run("tc", "-n", "tbvm", "qdisc", "add", "dev", "veth0", "root", "netem",
                         "delay", "25ms", "loss", "1%")
    facts["show"] = run("tc", "-n", "tbvm", "-j", "qdisc", "show", "dev", "veth0")
    with open(os.path.join(sys.argv[1], "written-in-vm.txt"), "w") as handle:
        handle.write(facts["release"])
    print(json.dumps(facts))
    print("a line for stderr", file=sys.stderr)
    sys.exit(7)
""")


@pytest.fixture(scope="module")
def facts_run(tmp_path_factory: pytest.TempPathFactory):
    """One boot: the FACTS script, with a shared folder and a carried variable."""
    shared = tmp_path_factory.mktemp("vm-shared")
    result = run_in_vm([sys.executable, "-c", FACTS, str(shared)], cwd=str(REPO), writable=[shared],
                       env={"TESTBED_VM_TEST_VALUE": "it's \"quoted\" $HOME"}, timeout=300)
    lines = result.stdout.strip().splitlines()
    facts = json.loads(lines[-1]) if lines else {}
    return result, facts, shared


@needs_vm
def test_the_vm_runs_a_stock_kernel_as_root_in_the_project_folder(facts_run) -> None:
    result, facts, _ = facts_run
    assert facts["release"] != os.uname().release and facts["release"] == result.kernel
    assert facts["euid"] == 0
    assert facts["cwd"] == str(REPO)
    assert facts["imports"] == "ok" and facts["executable"] == sys.executable
    assert facts["in_vm"] == "1" and facts["carried"] == "it's \"quoted\" $HOME"


@needs_vm
def test_exit_code_stdout_and_stderr_come_back_without_markers(facts_run) -> None:
    result, _, _ = facts_run
    assert result.returncode == 7
    assert result.stderr.strip().endswith("a line for stderr")
    assert "@@testbed-vm" not in result.stderr + result.stdout
    assert result.boot_s > 0 and result.run_s > 0 and result.shutdown_s >= 0
    print(f"\nVM ({result.accel}, fast boot {result.fast_boot}): boot {result.boot_s:.1f} s, "
          f"facts script {result.run_s:.1f} s, shutdown {result.shutdown_s:.1f} s")


@needs_vm
def test_real_netem_is_reachable_in_the_vm_and_the_probe_says_so(facts_run) -> None:
    from testbed.host import kernel_supports_netem

    _, facts, _ = facts_run
    for step in ("modprobe", "netns", "veth", "netem", "show"):
        assert facts[step]["rc"] == 0, (step, facts[step])
    qdiscs = json.loads(facts["show"]["out"])
    netem = [q for q in qdiscs if q["kind"] == "netem"]
    assert netem and netem[0]["root"] is True, qdiscs
    assert netem[0]["options"]["delay"]["delay"] == pytest.approx(0.025), netem[0]
    assert netem[0]["options"]["loss-random"]["loss"] == pytest.approx(0.01), netem[0]
    assert facts["kernel_supports_netem"] is True
    assert kernel_supports_netem() is _host_can_add_netem()  # and the host answer is right too


@needs_vm
def test_a_writable_folder_is_shared_with_the_host(facts_run) -> None:
    result, _, shared = facts_run
    assert (shared / "written-in-vm.txt").read_text() == result.kernel


@needs_vm
def test_testbed_vm_command_returns_the_command_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from testbed.cli.vm import command

    monkeypatch.chdir(tmp_path)
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2 mixes stderr in by default
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps it apart always
    done = runner.invoke(command, ["--verbose", "--", "sh", "-c", "pwd; echo to-err >&2; exit 7"])
    assert done.exit_code == 7, (done.output, done.exception)
    assert done.stdout.strip() == str(tmp_path)
    assert "to-err" in done.stderr and "boot" in done.stderr and "kernel" in done.stderr


def _host_can_add_netem() -> bool:
    """Independent of testbed.host: can this host attach netem in a fresh namespace?"""
    if os.geteuid() != 0:
        pytest.skip("checking the host's netem needs root")
    done = subprocess.run(["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
                          capture_output=True)
    return done.returncode == 0


# Without a VM.

def _fake_boot(tmp_path: Path, versions: list[str], with_modules: list[str]) -> tuple[Path, Path]:
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    boot.mkdir()
    for version in versions:
        (boot / f"vmlinuz-{version}").write_bytes(b"kernel")
    for version in with_modules:
        (modules / version).mkdir(parents=True)
        (modules / version / "modules.dep").write_text("kernel/net/sched/sch_netem.ko:\n")
    return boot, modules


def test_the_newest_generic_kernel_with_modules_is_chosen(tmp_path: Path) -> None:
    versions = ["6.1.0-9-amd64", "6.1.0-57-amd64", "6.1.0-58-cloud-amd64", "6.1.0-60-amd64", "6.18.44-fc"]
    boot, modules = _fake_boot(tmp_path, versions, ["6.1.0-9-amd64", "6.1.0-57-amd64", "6.1.0-58-cloud-amd64",
                                                    "6.18.44-fc"])
    found = stock_kernels(boot, modules, running="6.18.44-fc")
    assert [k.version for k in found] == ["6.1.0-57-amd64", "6.1.0-9-amd64"]  # -60 has no modules
    chosen = find_stock_kernel(boot, modules, running="6.18.44-fc")
    assert chosen.image == boot / "vmlinuz-6.1.0-57-amd64" and chosen.has_module("sch_netem")


def test_a_missing_stock_kernel_names_the_package_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "boot"
    empty.mkdir()
    with pytest.raises(HostUnsuitable, match="apt-get install linux-image-amd64") as raised:
        find_stock_kernel(empty, tmp_path)
    assert raised.value.exit_code == 4
    reason = vm_unavailable_reason(boot_dir=empty, modules_dir=tmp_path)
    assert reason is not None and "linux-image-amd64" in reason
    with pytest.raises(HostUnsuitable, match="linux-image-amd64"):
        run_in_vm(["true"], boot_dir=empty, modules_dir=tmp_path)


def test_the_command_reaches_the_guest_script_exactly_as_given(tmp_path: Path) -> None:
    """The guest script runs with the host's sh here: same quoting as in the VM."""
    nasty = ["a b", "'single'", '"double"', "$(echo no)", "`echo no`", "new\nline", "back\\slash", "*", ""]
    argv = [sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", *nasty]
    env = {**_guest_env({"ODD": "$HOME 'x' \"y\"\n2"}), "PATH": os.environ["PATH"]}
    script = tmp_path / "run.sh"
    script.write_text(_guest_script(argv, str(tmp_path), env, "@@start@@", "@@end@@"))
    done = subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, cwd="/")
    assert json.loads(done.stdout) == nasty
    assert done.stderr == "@@start@@\n@@end@@\n" and done.returncode == 0
    check = _guest_script(["sh", "-c", 'printf %s "$ODD"; exit 3'], str(tmp_path), env, "s", "e")
    script.write_text(check)
    done = subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True)
    assert done.stdout == "$HOME 'x' \"y\"\n2" and done.returncode == 3


def test_markers_are_cut_out_even_split_across_reads_or_glued_to_output() -> None:
    read, write = os.pipe()
    pump = _Pump(os.fdopen(read, "rb"), io.BytesIO(), [b"@@s@@\n", b"@@e@@\n"])
    pump.start()
    for chunk in (b"boot noise\n@@", b"s@", b"@\nout", b"put without newline@@e@@\n"):
        os.write(write, chunk)
    os.close(write)
    pump.join(5)
    assert bytes(pump.data) == b"boot noise\noutput without newline"
    assert set(pump.seen) == {b"@@s@@\n", b"@@e@@\n"}
