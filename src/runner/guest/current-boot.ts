import type { GuestSideSession } from "./guest-side-session.ts";

type BootFields = Pick<GuestSideSession, "name" | "describe" | "guest" | "notes" | "profile">;

/**
 * For a guest side whose boot can be replaced (rebootOnce, freshBootPerRound):
 * adds to `rest` the fields that belong to whichever boot is current, read
 * through `cur` each time. `rest` keeps its own accessors (defineProperties,
 * not a spread, which would read them once).
 */
export function withCurrentBoot<T extends object>(cur: () => GuestSideSession, rest: T): T & BootFields {
  const field = (key: keyof BootFields): PropertyDescriptor => ({ get: () => cur()[key], enumerable: true });
  return Object.defineProperties(rest, {
    name: field("name"),
    describe: field("describe"),
    guest: field("guest"),
    notes: field("notes"),
    profile: field("profile"),
  }) as T & BootFields;
}
