// The policy pack: `pulumi preview --policy-pack policy/` runs it against any program.
import { PolicyPack } from "@pulumi/policy";
import { guardrails } from "./guardrails";

new PolicyPack("dind-provisioner-guardrails", { policies: guardrails });
