import { createHash } from "node:crypto";
import type { FakeMail } from "./fake-patchwork-mails.ts";

/** The JSON shapes of patchwork's API 1.3 for the stand-in's rows (test/helpers/fake-patchwork.ts). */

type Json = Record<string, unknown>;

export interface FakePatch {
  id: number;
  mail: FakeMail;
  seriesId: number;
  date: string;
  deleted: boolean;
  /** Patchwork's state slug ("new" until a maintainer or bot changes it). */
  state: string;
}

export interface FakeSeriesRow {
  id: number;
  version: number;
  total: number;
  cover: { id: number; mail: FakeMail } | null;
  patches: FakePatch[];
  date: string;
}

export interface FakeCheck {
  id: number;
  patchId: number;
  userId: number;
  date: string;
  state: string;
  target_url: string | null;
  context: string;
  description: string | null;
}

export interface FakeUser {
  id: number;
  username: string;
  first_name: string;
  last_name: string;
  email: string;
  token: string;
  maintainer: boolean;
}

/** Django's naive UTC timestamps, which patchwork returns and takes in `since`. */
export function naive(d: Date): string {
  return d.toISOString().replace(/Z$/, "");
}

export function createPatchworkJson(ctx: { url: () => string; linkName: string; users: FakeUser[]; series: FakeSeriesRow[]; checks: FakeCheck[] }) {
  const { linkName, users, checks } = ctx;
  const api = () => `${ctx.url()}/api/1.3`;
    const userEmbedded = (id: number): Json => {
    const u = users.find((x) => x.id === id)!;
    return { id: u.id, url: `${api()}/users/${u.id}/`, username: u.username, first_name: u.first_name, last_name: u.last_name, email: u.email };
  };
  const projectEmbedded = (): Json => ({
    id: 1,
    url: `${api()}/projects/1/`,
    name: "Netdev + BPF",
    link_name: linkName,
    list_id: "netdev.vger.kernel.org",
    list_email: "netdev@vger.kernel.org",
    web_url: `${ctx.url()}/project/${linkName}/list/`,
    scm_url: "git://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git",
    webscm_url: "https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git/",
    list_archive_url: "https://lore.kernel.org/netdev",
    // patchwork.kernel.org sets "https://lore.kernel.org/r/{}", but the description's `format: uri` refuses the "{}" it needs.
    list_archive_url_format: null,
    commit_url_format: "",
  });
  const person = (m: FakeMail): Json => ({ id: 1, url: `${api()}/people/1/`, name: m.from.name, email: m.from.email });
  const archive = (m: FakeMail) => `https://lore.kernel.org/netdev/${m.msgid}`;
  const seriesEmbedded = (s: FakeSeriesRow): Json => ({
    id: s.id,
    url: `${api()}/series/${s.id}/`,
    web_url: `${ctx.url()}/project/${linkName}/list/?series=${s.id}`,
    name: (s.cover?.mail ?? s.patches[0]?.mail)?.name ?? null,
    date: s.date,
    version: s.version,
    mbox: `${ctx.url()}/series/${s.id}/mbox/`,
  });
  const patchEmbedded = (p: FakePatch): Json => ({
    id: p.id,
    url: `${api()}/patches/${p.id}/`,
    web_url: `${ctx.url()}/project/${linkName}/patch/${p.mail.msgid}/`,
    msgid: `<${p.mail.msgid}>`,
    list_archive_url: archive(p.mail),
    date: p.date,
    name: p.mail.name,
    mbox: `${ctx.url()}/project/${linkName}/patch/${p.mail.msgid}/mbox/`,
  });
  const coverEmbedded = (s: FakeSeriesRow): Json => {
    const c = s.cover!;
    return { id: c.id, url: `${api()}/covers/${c.id}/`, web_url: `${ctx.url()}/project/${linkName}/cover/${c.mail.msgid}/`, msgid: `<${c.mail.msgid}>`, list_archive_url: archive(c.mail), date: s.date, name: c.mail.name, mbox: `${ctx.url()}/project/${linkName}/cover/${c.mail.msgid}/mbox/` };
  };
  /** API 1.3 CoverDetail: the cover with its project, submitter, series and mail. */
  const coverDetail = (s: FakeSeriesRow): Json => {
    const m = s.cover!.mail;
    return { ...coverEmbedded(s), project: projectEmbedded(), submitter: person(m), series: [seriesEmbedded(s)], comments: `${api()}/covers/${s.cover!.id}/comments/`, headers: Object.fromEntries(m.headers), content: m.content };
  };
  const checksOf = (patchId: number) => checks.filter((c) => c.patchId === patchId);
  const checkJson = (c: FakeCheck): Json => ({
    id: c.id,
    url: `${api()}/patches/${c.patchId}/checks/${c.id}/`,
    user: userEmbedded(c.userId),
    date: c.date,
    state: c.state,
    target_url: c.target_url,
    context: c.context,
    description: c.description,
  });
  /** Patchwork's combined check: the latest per (user, context), then the worst of those. */
  const combined = (patchId: number): string => {
    const latest = new Map<string, FakeCheck>();
    for (const c of checksOf(patchId)) latest.set(`${c.userId}/${c.context}`, c);
    const rank = ["pending", "success", "warning", "fail"];
    return [...latest.values()].reduce((w, c) => (rank.indexOf(c.state) > rank.indexOf(w) ? c.state : w), "pending");
  };
  const seriesOf = (p: FakePatch) => ctx.series.find((s) => s.id === p.seriesId)!;
  const patchList = (p: FakePatch): Json => ({
    ...patchEmbedded(p),
    project: projectEmbedded(),
    commit_ref: null,
    pull_url: null,
    state: p.state,
    archived: false,
    // A stand-in for patchwork's hash (SHA-1 of its normalised diff): SHA-1 of the diff as sent.
    hash: createHash("sha1").update(p.mail.diff ?? "").digest("hex"),
    submitter: person(p.mail),
    delegate: null,
    series: [seriesEmbedded(seriesOf(p))],
    comments: `${api()}/patches/${p.id}/comments/`,
    check: combined(p.id),
    checks: `${api()}/patches/${p.id}/checks/`,
    tags: {},
    related: [],
  });
  const seriesJson = (s: FakeSeriesRow): Json => ({
    ...seriesEmbedded(s),
    project: projectEmbedded(),
    submitter: person((s.cover?.mail ?? s.patches[0]?.mail)!),
    total: s.total,
    received_total: s.patches.length,
    received_all: s.patches.length >= s.total,
    cover_letter: s.cover ? coverEmbedded(s) : null,
    patches: s.patches.filter((p) => !p.deleted).map(patchEmbedded),
  });
  return { userEmbedded, projectEmbedded, seriesEmbedded, patchEmbedded, coverEmbedded, coverDetail, checkJson, patchList, seriesJson, checksOf };
}
