#!/usr/bin/python3
# -*- coding: utf-8 -*-
# The tlswall role's module: runs one tlswall verb on the host and turns its exit status into Ansible's terms
# (changed, failed, and the difference shown with --diff).

DOCUMENTATION = r"""
---
module: tlswall
short_description: Run tlswall on a host - check, diff, apply with a rollback armed, confirm, rollback
description:
  - C(check) validates a policy (fails with every FILE:LINE diagnostic). Never changes anything.
  - C(diff) compares a policy with the live table; changed when they differ, and with --diff the difference is
    shown. Never changes anything.
  - C(apply) makes the kernel match the policy, with C(confirm) seconds to confirm before it rolls back by itself;
    changed unless the table already matched. In check mode it runs C(diff) instead.
  - C(confirm) keeps a change applied with C(confirm); C(rollback) restores the table from before it. Neither runs
    in check mode.
options:
  action:
    description: The verb.
    required: true
    choices: [check, diff, apply, confirm, rollback]
    type: str
  policy:
    description: The policy file (tlswall -f).
    type: path
  report_as:
    description: A name to print instead of I(policy) in messages (the role checks a staged copy of the policy).
    type: str
  state_dir:
    description: The state directory (tlswall --state-dir); the program's default when unset.
    type: path
  netns:
    description: Run tlswall inside this network namespace (ip netns exec).
    type: str
  binary:
    description: The tlswall program.
    type: str
    default: tlswall
  confirm:
    description: For C(apply), the seconds before an unconfirmed change is rolled back; 0 applies without.
    type: int
    default: 0
"""

from ansible.module_utils.basic import AnsibleModule

SBIN = ["/usr/sbin", "/sbin", "/usr/local/sbin"]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["check", "diff", "apply", "confirm", "rollback"]),
            policy=dict(type="path"),
            report_as=dict(type="str"),
            state_dir=dict(type="path"),
            netns=dict(type="str"),
            binary=dict(type="str", default="tlswall"),
            confirm=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    action = p["action"]
    if module.check_mode and action in ("confirm", "rollback"):
        module.exit_json(changed=False, msg="not run in check mode")
    if module.check_mode and action == "apply":
        action = "diff"  # the same question, without the commit

    cmd = []
    if p["netns"]:
        cmd += [module.get_bin_path("ip", required=True, opt_dirs=SBIN), "netns", "exec", p["netns"]]
    binary = p["binary"]
    cmd.append(binary if "/" in binary else module.get_bin_path(binary, required=True, opt_dirs=SBIN))
    if p["policy"]:
        cmd += ["-f", p["policy"]]
    if p["state_dir"]:
        cmd += ["--state-dir", p["state_dir"]]
    cmd.append(action)
    if action == "apply" and p["confirm"] > 0:
        cmd += ["--confirm", str(p["confirm"])]

    rc, out, err = module.run_command(cmd)
    if p["report_as"] and p["policy"]:
        out = out.replace(p["policy"], p["report_as"])
        err = err.replace(p["policy"], p["report_as"])
    # "status", not "rc": Ansible takes a nonzero rc for a failure, and diff's 2 means "changes"
    result = dict(cmd=cmd, status=rc, stdout=out, stderr=err, stdout_lines=out.splitlines(),
                  stderr_lines=err.splitlines(), changed=False)

    if action == "diff" and rc in (0, 2):
        result["changed"] = rc == 2
        if rc == 2:
            result["diff"] = dict(prepared=out)
        module.exit_json(**result)
    if rc == 0:
        if action == "apply":
            result["changed"] = not out.startswith("tlswall: no changes")
        elif action in ("confirm", "rollback"):
            result["changed"] = True
        module.exit_json(**result)
    why = {3: "refused for safety"}.get(rc, "failed")
    module.fail_json(msg="tlswall %s %s (exit %d): %s" % (action, why, rc, (err or out).strip()), **result)


if __name__ == "__main__":
    main()
