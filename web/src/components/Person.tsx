// People as people know them: the display name first, the username beside it (small print), so
// two 张伟 still differ and the username stays findable. The API sends both (`assignee` and
// `assignee_name`, `initiator` and `initiator_name`, ...); older answers may lack the name.
import { Typography } from "antd";

/** "李晓梅（east_planner）" for running text; the username alone when there is no other name. */
export function personText(username: string | null | undefined, name?: string | null): string {
  if (!username) return "";
  return name && name !== username ? `${name}（${username}）` : username;
}

/** Several people, each as `personText`, in the order of `usernames` (`names` runs parallel). */
export function peopleText(usernames: string[], names: string[] | undefined, separator: string): string {
  return usernames.map((u, i) => personText(u, names?.[i])).join(separator);
}

export function Person({
  username,
  name,
  strong = false,
}: {
  username: string | null | undefined;
  name?: string | null;
  strong?: boolean;
}) {
  if (!username) return null;
  if (!name || name === username) return <Typography.Text strong={strong}>{username}</Typography.Text>;
  return (
    <span className="person" title={username}>
      <Typography.Text strong={strong}>{name}</Typography.Text>{" "}
      <Typography.Text type="secondary" className="person-username">
        {username}
      </Typography.Text>
    </span>
  );
}
