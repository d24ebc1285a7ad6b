/** @jsxImportSource hono/jsx */
import type { Member } from "../../../shared/teams/memberships";
import type { SeatUsage } from "../../../shared/teams/seats";
import { Facts, time } from "./frame";

/**
 * A tenant's team for the operator: seats (the plan's, or the override set
 * with `PUT /api/tenants/:id/seats`) and its members. Read-only: members are
 * the team's to manage; the operator changes only the seat override.
 */
export function TeamCard(props: { seats: SeatUsage | null; members: Member[] }) {
  const { seats, members } = props;
  return (
    <section class="card" aria-labelledby="team-heading">
      <h2 id="team-heading">Team</h2>
      {seats ? (
        <Facts
          items={[
            ["Seats used", `${seats.members + seats.pendingInvitations} of ${seats.seats}`],
            ["Members", String(seats.members)],
            ["Pending invitations", String(seats.pendingInvitations)],
            [
              "Seat limit",
              seats.seatOverride === null ? `${seats.seats} (${seats.plan} plan)` : `${seats.seatOverride} (override)`,
            ],
          ]}
        />
      ) : (
        <p>No seat figures: the tenant is deleted.</p>
      )}
      {members.length === 0 ? (
        <p>No members (a tenant made without an owner account).</p>
      ) : (
        <table>
          <caption class="muted">Members, owner first</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
            </tr>
          </thead>
          <tbody>
            {members.map((member) => (
              <tr>
                <td>{member.email}</td>
                <td>{member.role}</td>
                <td>{time(member.joinedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
