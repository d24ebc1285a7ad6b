/**
 * Named-argument translation: our scan of parameter indexes must agree with
 * SQLite's own assignment, or named arguments would land in the wrong place.
 */
import Database from "libsql";
import { describe, expect, it } from "vitest";
import { bindArgs, parameterNames } from "../../tools/libsql-server/params";

describe("parameterNames", () => {
  it.each([
    ["SELECT ?, ?", [null, null]],
    ["SELECT ?2, ?", [null, "?2", null]],
    ["SELECT :a, @b, $c, :a", [":a", "@b", "$c"]],
    ["SELECT :a, ?, ?5, :b", [":a", null, null, null, "?5", ":b"]],
    ["SELECT ':no', \"?no\", `$no`, [@no] -- :no\n, /* ?no */ :yes", [":yes"]],
    ["SELECT 'it''s :no', :yes", [":yes"]],
    ["SELECT a$b, x1, :t::u(", [":t::u"]],
    ["SELECT $été", ["$été"]],
  ])("%s", (sql, expected) => {
    expect(parameterNames(sql)).toEqual(expected);
  });
});

describe("bindArgs", () => {
  it("places named values at SQLite's indexes, with or without prefix, falling back to positional", () => {
    expect(
      bindArgs(
        "SELECT :a, ?, @b",
        ["p1", "p2"],
        [
          { name: "a", value: 1n },
          { name: "@b", value: "bee" },
        ],
      ),
    ).toEqual([1n, "p2", "bee"]);
    expect(bindArgs("SELECT ?", ["only"], [])).toEqual(["only"]);
  });

  it("agrees with SQLite's own name binding", () => {
    const db = new Database(":memory:");
    const cases = [
      "SELECT :a, :b, :a, :c",
      "SELECT @x || :y, $z, @x",
      "SELECT 'q:no', :a /* :b */, :c -- :d\n",
      "WITH t(v) AS (SELECT :one) SELECT v, :two, :one FROM t",
    ];
    for (const sql of cases) {
      const names = parameterNames(sql).map((n) => (n ?? "").slice(1));
      const values = Object.fromEntries(names.map((n) => [n, `value-of-${n}`]));
      const byName = db.prepare(sql).raw(true).all(values);
      const named = names.map((name) => ({ name, value: `value-of-${name}` }));
      const byIndex = db
        .prepare(sql)
        .raw(true)
        .all(bindArgs(sql, [], named));
      expect(byIndex).toEqual(byName);
    }
    db.close();
  });
});
