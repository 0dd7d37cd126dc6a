import * as assert from "node:assert/strict";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { fleetStackFile, isNested, phaseDurations, previewPhaseDurations } from "../../../bench/phases";

const URN = "urn:pulumi:bench::dind-provisioner::";
const urns = {
    stack: `${URN}pulumi:pulumi:Stack::dind-provisioner-bench`,
    provider: `${URN}pulumi:providers:docker::daemon-local`,
    host: `${URN}dind:index:DindHost::h`,
    container: `${URN}dind:index:DindHost$docker:index/container:Container::h-container`,
    readiness: `${URN}dind:index:DindHost$dind:index:DindReadiness::h-readiness`,
    preload: `${URN}dind:index:DindHost$dind:index:ImagePreload::h-preload`,
    workloads: `${URN}dind:index:DindHost$dind:index:DindWorkloads::h-workloads`,
    network: `${URN}dind:index:DindHost$dind:index:DindWorkloads$docker:index/network:Network::h-workloads-network-app`,
    web: `${URN}dind:index:DindHost$dind:index:DindWorkloads$docker:index/container:Container::h-workloads-container-web`,
};
const pre = (at: number, urn: string) => ({ at, event: { resourcePreEvent: { metadata: { urn } } } as unknown as EngineEvent });
const done = (at: number, urn: string) => ({ at, event: { resOutputsEvent: { metadata: { urn } } } as unknown as EngineEvent });

describe("bench/phases", () => {
    it("tells nested resources (created through a host's inner daemon) from the rest", () => {
        assert.ok(isNested(urns.network));
        assert.ok(isNested(urns.web));
        assert.ok(!isNested(urns.workloads));
        assert.ok(!isNested(urns.container));
        assert.ok(!isNested(undefined));
    });

    it("splits a cold up along its critical path", () => {
        const events = [
            pre(0.1, urns.stack), pre(0.5, urns.provider), done(0.55, urns.provider), pre(0.9, urns.container), done(1.4, urns.container),
            done(1.9, urns.readiness), done(2.1, urns.preload), pre(2.2, urns.network), done(2.3, urns.network),
            pre(2.3, urns.web), done(2.8, urns.web), done(2.9, urns.stack),
        ];
        const phases = phaseDurations(events, 3);
        const rounded = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Number(v.toFixed(2))]));
        assert.deepEqual(rounded, { engineAndProgramStart: 0.5, imagesAndCertificates: 0.4, dindReadiness: 1, preload: 0.2, nestedCreation: 0.7, finish: 0.2 });
    });

    it("splits a no-op preview into start, program, resource steps and finish", () => {
        const events = [
            pre(1.4, urns.stack), done(1.4, urns.stack), pre(2.4, urns.provider), done(2.45, urns.provider),
            pre(2.5, urns.host), done(2.5, urns.host), pre(4.0, urns.web), done(4.2, urns.web), done(4.25, urns.stack),
        ];
        const phases = previewPhaseDurations(events, 4.3);
        const rounded = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Number(v.toFixed(2))]));
        assert.deepEqual(rounded, { engineStart: 1.4, programAndPlugin: 1, resourceDiffs: 1.85, finish: 0.05 });
    });

    it("refuses a preview whose events lack the stack or any resource", () => {
        assert.throws(() => previewPhaseDurations([pre(1, urns.provider), done(1.1, urns.provider)], 2), /preview phase engineStart not found/);
        assert.throws(() => previewPhaseDurations([pre(1, urns.stack), done(1.1, urns.stack)], 2), /preview phase programAndPlugin not found/);
    });

    it("writes a fleet of N hosts, each on its own port, with three nested web servers", () => {
        const file = fleetStackFile(2, "b", 24611);
        assert.match(file, /^ {2}b-fleet-1:\n[^]*tcp: \{ port: 24611 \}[^]*^ {2}b-fleet-2:\n[^]*tcp: \{ port: 24612 \}/m);
        assert.equal(file.match(/web-\d: \{ image/g)?.length, 6);
    });
});
