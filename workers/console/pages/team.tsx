/** @jsxImportSource hono/jsx */
import type { Invitation } from "../../../shared/teams/invitations";
import type { Member, TeamOfAccount } from "../../../shared/teams/memberships";
import type { Role } from "../../../shared/teams/roles";
import type { SeatUsage } from "../../../shared/teams/seats";
import { Field, FormError, Notice, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";

const day = (iso: string) => iso.slice(0, 10);

const ROLE_TEXT: Record<Role, string> = {
  owner: "Owner — everything, including billing and deleting the team",
  admin: "Admin — members, everyone's keys and apps, all memory",
  member: "Member — reads and writes memory, manages their own keys and apps",
  viewer: "Viewer — reads memory only",
};

function RoleSelect(props: { id: string; label: string; selected?: Role }) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name="role">
        {(["admin", "member", "viewer"] as const).map((role) => (
          <option value={role} selected={role === (props.selected ?? "member")}>
            {role}
          </option>
        ))}
      </select>
    </>
  );
}

export function TeamPage(props: {
  viewer: Viewer;
  orgName: string;
  me: { userId: string; role: Role };
  members: Member[];
  invitations: Invitation[];
  seats: SeatUsage | null;
  teams: TeamOfAccount[];
  currentTeam: string;
  notice?: string | null;
  error?: string | null;
}) {
  const { viewer, me } = props;
  const manages = me.role === "owner" || me.role === "admin";
  return (
    <Layout title="Team" viewer={viewer} section="team">
      <h1>Team {props.orgName}</h1>
      <p>
        You are this team's <strong>{me.role}</strong>: {ROLE_TEXT[me.role]}.
        {props.seats
          ? ` Seats: ${props.seats.members + props.seats.pendingInvitations} of ${props.seats.seats} taken (members and pending invitations).`
          : null}
      </p>
      <Notice message={props.notice} />
      <FormError message={props.error} />
      {props.teams.length > 1 ? (
        <section aria-labelledby="switch-heading">
          <h2 id="switch-heading">Your teams</h2>
          <PostForm action="/app/team/switch" csrf={viewer.csrf} label="Switch team">
            <label for="field-team">Show the console for</label>
            <select id="field-team" name="team">
              {props.teams.map((team) => (
                <option value={team.tenantId} selected={team.tenantId === props.currentTeam}>
                  {team.orgName} ({team.role})
                </option>
              ))}
            </select>
            <div class="actions">
              <button type="submit">Switch team</button>
            </div>
          </PostForm>
        </section>
      ) : null}
      <section aria-labelledby="members-heading">
        <h2 id="members-heading">Members</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined (UTC)</th>
              {manages ? (
                <th scope="col">
                  <span class="muted">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {props.members.map((member) => (
              <tr>
                <td>{member.displayName}</td>
                <td>{member.email}</td>
                <td>{member.role}</td>
                <td>{day(member.joinedAt)}</td>
                {manages ? (
                  <td>
                    {member.role !== "owner" && member.userId !== me.userId ? (
                      <>
                        <PostForm
                          action={`/app/team/members/${encodeURIComponent(member.userId)}/role`}
                          csrf={viewer.csrf}
                          label={`Role of ${member.displayName}`}
                        >
                          <RoleSelect
                            id={`role-${member.userId}`}
                            label={`Role of ${member.displayName}`}
                            selected={member.role}
                          />
                          <button type="submit" class="secondary">
                            Change role
                          </button>
                        </PostForm>
                        <a
                          href={`/app/team/members/${encodeURIComponent(member.userId)}/remove`}
                          aria-label={`Remove ${member.displayName}`}
                        >
                          Remove
                        </a>
                      </>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {me.role !== "owner" ? (
        <PostForm action="/app/team/leave" csrf={viewer.csrf} label="Leave this team">
          <div class="actions">
            <button type="submit" class="danger">
              Leave this team
            </button>
          </div>
        </PostForm>
      ) : null}
      {manages ? (
        <>
          <section aria-labelledby="invite-heading">
            <h2 id="invite-heading">Invite someone</h2>
            <PostForm action="/app/team/invite" csrf={viewer.csrf} label="Invite someone">
              <Field name="email" label="Email" type="email" autocomplete="off" maxlength={254} />
              <RoleSelect id="field-role" label="Role" />
              <div class="actions">
                <button type="submit">Send invitation</button>
              </div>
            </PostForm>
          </section>
          <section aria-labelledby="pending-heading">
            <h2 id="pending-heading">Pending invitations</h2>
            {props.invitations.length === 0 ? (
              <p class="muted">No pending invitations.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Sent (UTC)</th>
                    <th scope="col">Expires (UTC)</th>
                    <th scope="col">
                      <span class="muted">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {props.invitations.map((invitation) => (
                    <tr>
                      <td>{invitation.email}</td>
                      <td>{invitation.role === "owner" ? "owner (transfer)" : invitation.role}</td>
                      <td>{day(invitation.sentAt)}</td>
                      <td>{Date.parse(invitation.expiresAt) <= Date.now() ? "expired" : day(invitation.expiresAt)}</td>
                      <td>
                        <PostForm
                          action={`/app/team/invitations/${encodeURIComponent(invitation.id)}/resend`}
                          csrf={viewer.csrf}
                          label={`Resend to ${invitation.email}`}
                        >
                          <button
                            type="submit"
                            class="secondary"
                            aria-label={`Resend the invitation to ${invitation.email}`}
                          >
                            Resend
                          </button>
                        </PostForm>
                        <PostForm
                          action={`/app/team/invitations/${encodeURIComponent(invitation.id)}/revoke`}
                          csrf={viewer.csrf}
                          label={`Revoke the invitation to ${invitation.email}`}
                        >
                          <button
                            type="submit"
                            class="danger"
                            aria-label={`Revoke the invitation to ${invitation.email}`}
                          >
                            Revoke
                          </button>
                        </PostForm>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      ) : null}
    </Layout>
  );
}

export function RemoveMemberPage(props: { viewer: Viewer; member: Member }) {
  const { member } = props;
  return (
    <Layout title="Remove member" viewer={props.viewer} section="team" narrow>
      <h1>
        Remove {member.displayName} ({member.email})?
      </h1>
      <p>
        Their keys and connected apps in this team stop working now; their memories stay with the team. To have them
        back, invite them again.
      </p>
      <PostForm action={`/app/team/members/${encodeURIComponent(member.userId)}/remove`} csrf={props.viewer.csrf}>
        <div class="actions">
          <button type="submit" class="danger">
            Remove from the team
          </button>
          <a href="/app/team">Cancel</a>
        </div>
      </PostForm>
    </Layout>
  );
}
