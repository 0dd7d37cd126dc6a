// The host paths a stack shares with containers on each machine, compared for containment: DinD
// hosts' unix.hostDir and policy proxies' socketDir (each holds a socket), the outer daemons'
// sockets, and what a restricted DooD client reaches (its workspace and bind roots). So that no
// spelling or nesting hands a restricted client a socket more powerful than its own proxy's.
import { defaultOuterDaemon } from "../components/defaults";
import { socketPathOf } from "../components/endpoints";
import { directoryKey, HostPathIndex, relation, SOCKET_TREE, systemDirectoryProblem } from "./host-safety";
import { StackFile } from "./schema";
import { KeyPath } from "./text";

/** A daemon as the rules compare it: one key per daemon, one per machine, the socket path of a unix:// one. */
export interface DaemonIdentity { key: string; machine: string; socket?: string }

/** Reports a problem at a key path (at the key itself, or its value). */
export type Fail = (path: KeyPath, message: string, at?: "key" | "value") => void;

/** A host path of the stack on one machine: a directory where a socket appears, or what a restricted client reaches. */
interface SocketDirectory { path: string; at: KeyPath; label: string; holds: string; client?: string; point: "key" | "value" }
interface RestrictedRoot { path: string; at: KeyPath; client: string; kind: string; why: string }

/**
 * The host paths of each machine that decide which socket a container can reach: DinD hosts'
 * unix.hostDir and policy proxies' socketDir (each holds a socket), the outer daemons' sockets,
 * and what a restricted client reaches (its workspace and bind roots). Compared for containment,
 * not equality, after normalizing, so no spelling or nesting hands a client a more powerful socket.
 */
export class MachinePaths {
    private readonly socketDirs = new Map<string, SocketDirectory[]>();
    private readonly roots = new Map<string, RestrictedRoot[]>();
    private readonly sockets = new Map<string, string[]>();

    constructor(private readonly identity: (daemon: string) => DaemonIdentity, stack: StackFile, private readonly fail: Fail) {
        // The usual socket is on every machine that runs Docker; then every unix:// daemon's, and the sockets clients name.
        const usual = socketPathOf(defaultOuterDaemon({}).host)!;
        for (const name of Object.keys(stack.daemons)) this.addSocket(this.identity(name).machine, usual);
        for (const name of Object.keys(stack.daemons)) {
            const { machine, socket } = this.identity(name);
            if (socket) this.addSocket(machine, socket);
        }
        for (const client of Object.values(stack.clients)) {
            if (client.socket && Object.hasOwn(stack.daemons, client.daemon)) this.addSocket(this.identity(client.daemon).machine, client.socket);
        }
    }

    private addSocket(machine: string, socket: string) {
        const list = listOf(this.sockets, machine);
        if (!list.some((s) => directoryKey(s) === directoryKey(socket))) list.push(socket);
    }

    /** The outer daemons' sockets on the machine of `daemon`. */
    socketsOn(daemon: string): string[] {
        return this.sockets.get(this.identity(daemon).machine) ?? [socketPathOf(defaultOuterDaemon({}).host)!];
    }

    socketDirectory(daemon: string, path: string, at: KeyPath, label: string, holds: string, client?: string, point: "key" | "value" = "value") {
        listOf(this.socketDirs, this.identity(daemon).machine).push({ path, at, label, holds, client, point });
    }

    restrictedRoot(daemon: string, client: string, path: string, at: KeyPath, kind: string, why: string) {
        listOf(this.roots, this.identity(daemon).machine).push({ path, at, client, kind, why });
    }

    check() {
        for (const [machine, dirs] of this.socketDirs) {
            const sockets = this.sockets.get(machine) ?? [];
            const index = new HostPathIndex<SocketDirectory>();
            for (const dir of dirs) {
                const unsafe = systemDirectoryProblem(dir.path, sockets);
                if (unsafe) {
                    // Refused as it is: it takes no part in the comparisons that follow.
                    this.fail(dir.at, unsafe, dir.point);
                    continue;
                }
                // The same directory twice is a clash of names, reported by the claims.
                const nested = index.related(dir.path).find((r) => r.relation !== "same");
                if (nested) {
                    this.fail(dir.at, `${dir.path} ${nested.relation === "inside" ? "is inside" : "contains"} ${nested.owner.label}: whoever is given the outer directory ` +
                        `also reaches the socket in the inner one (${nested.relation === "inside" ? dir.holds : nested.owner.holds}); give each socket a directory of its own, side by side`, dir.point);
                }
                index.add(dir.path, dir);
            }
        }
        for (const [machine, roots] of this.roots) {
            const sockets = this.sockets.get(machine) ?? [];
            const index = new HostPathIndex<SocketDirectory>();
            for (const dir of this.socketDirs.get(machine) ?? []) if (!systemDirectoryProblem(dir.path, sockets)) index.add(dir.path, dir);
            for (const root of roots) this.checkRoot(root, sockets, index);
        }
    }

    /** A restricted client reaches nothing more powerful than its own proxy's socket through `root`. */
    private checkRoot(root: RestrictedRoot, sockets: string[], index: HostPathIndex<SocketDirectory>) {
        if (root.kind === "bind root" && directoryKey(root.path) === "/") {
            this.fail(root.at, "/ would let this client bind every path of the host, and its policy proxy mounts each bind root at the same path " +
                "in itself, which Docker refuses for / (a mount at /): name the directories its jobs need, such as /srv/ci");
            return;
        }
        const unsafe = systemDirectoryProblem(root.path, sockets);
        if (unsafe) {
            // A workspace's own problem is reported with the workspace, for every client.
            if (root.kind === "bind root") this.fail(root.at, unsafe);
            return;
        }
        if (relation(root.path, SOCKET_TREE) === "inside" || relation(root.path, SOCKET_TREE) === "same") {
            this.fail(root.at, `${root.path} is below ${SOCKET_TREE}, where the host's services keep their sockets (Docker's, systemd's, D-Bus's ...): ` +
                `a ${root.kind} of a client whose access is restricted lies outside it, such as /srv/ci`);
            return;
        }
        for (const socket of sockets) {
            const related = relation(root.path, socket);
            if (related) {
                this.fail(root.at, `${root.path} ${related === "contains" ? "contains" : related === "same" ? "is" : "is inside"} the outer daemon's socket ${socket}: ` +
                    `${root.why}, so it would have the daemon itself (root on the machine) instead of its policy proxy`);
                return;
            }
        }
        const reached = index.related(root.path).find((r) => r.owner.client !== root.client);
        if (reached) {
            const verb = reached.relation === "same" ? "is" : reached.relation === "inside" ? "is inside" : "contains";
            this.fail(root.at, `${root.path} ${verb} ${reached.owner.label}, where ${reached.owner.holds} appears: ${root.why}, so this client ` +
                "would reach that socket past its own policy proxy; keep every socket directory of the stack outside a restricted client's workspace and bind roots");
        }
    }
}

/** The list a map holds for `key`, made when missing. */
function listOf<T>(map: Map<string, T[]>, key: string): T[] {
    let list = map.get(key);
    if (!list) map.set(key, (list = []));
    return list;
}
