import { EngineEvent } from "@pulumi/pulumi/automation";
import { removeLabelled, StackUnderTest } from "../scripts/harness";
import { phaseDurations } from "./phases";
const seconds = (start: number) => (performance.now() - start) / 1000;
(async () => {
    const sut = await StackUnderTest.create(process.argv[2], `onecycle-${process.pid}`);
    try {
        const events: { at: number; event: EngineEvent }[] = [];
        const start = performance.now();
        await sut.stack.up({ onEvent: (event) => events.push({ at: seconds(start), event }) });
        const coldUp = seconds(start);
        const p0 = performance.now();
        const preview = await sut.stack.preview();
        const noop = seconds(p0);
        console.log(JSON.stringify({ coldUp, noop, changes: preview.changeSummary, phases: phaseDurations(events, coldUp) }, null, 1));
        for (const { at, event } of events) {
            const pre = event.resourcePreEvent?.metadata; const done = event.resOutputsEvent?.metadata;
            if (pre || done) console.log(at.toFixed(2), pre ? "pre " : "done", (pre ?? done)!.urn.split("::").slice(2).join("::"));
        }
    } finally {
        await sut.stack.destroy().catch(() => undefined);
        removeLabelled(sut.label);
        await sut.dispose();
    }
})();
