import { describe, expect, it } from "vitest";
import { OutputLog } from "../../tools/output-log";

describe("the local stack's output log", () => {
  it("keeps only the tail, however much is printed", () => {
    const log = new OutputLog(100);
    for (let i = 0; i < 1000; i++) log.append(`line ${i}\n`);
    const text = log.text();
    expect(text.length).toBe(100);
    expect(text.endsWith("line 999\n")).toBe(true);
  });

  it("lets a watcher see every line of a run, including lines split across chunks and long gone from the tail", () => {
    const log = new OutputLog(50);
    log.append("Uncaught before the watch began\n");
    const watch = log.watch([/Uncaught/, /Promise will never complete/]);
    log.append("ok\nUncaught Err");
    log.append("or: boom\n");
    for (let i = 0; i < 500; i++) log.append(`filler ${i}\n`);
    log.append("Error: Promise will never complete.\nlast line without a newline: Uncaught");
    expect(log.text()).not.toContain("boom");
    expect(watch.matches()).toEqual([
      "Uncaught Error: boom",
      "Error: Promise will never complete.",
      "last line without a newline: Uncaught",
    ]);
    expect(watch.count()).toBe(3);
    watch.stop();
    log.append("Uncaught after the watch stopped\n");
    expect(watch.count()).toBe(3);
  });

  it("counts every match but keeps only the first hundred lines", () => {
    const log = new OutputLog();
    const watch = log.watch([/Uncaught/]);
    for (let i = 0; i < 150; i++) log.append(`Uncaught ${i}\n`);
    expect(watch.count()).toBe(150);
    expect(watch.matches()).toHaveLength(100);
    expect(watch.matches()[0]).toBe("Uncaught 0");
  });
});
