import { afterEach, describe, expect, it } from "vitest";
import { childEnv } from "./child-env.js";

describe("childEnv", () => {
  const saved = process.env.NODE_OPTIONS;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  });

  it("is the host's environment without NODE_OPTIONS, and leaves the host's own as it was", () => {
    process.env.NODE_OPTIONS = "--inspect=9229 --max-old-space-size=8192";
    process.env.MODHOST_CHILD_ENV_PROBE = "kept";
    const env = childEnv();
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(env.MODHOST_CHILD_ENV_PROBE).toBe("kept");
    expect(process.env.NODE_OPTIONS).toBe("--inspect=9229 --max-old-space-size=8192");
    delete process.env.MODHOST_CHILD_ENV_PROBE;
  });
});
