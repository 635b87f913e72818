// A request's comments (评论), newest last, and a box to add one with attachments. On a task
// page the comment is recorded against the task (POST /tasks/<id>/comment).
import { SendOutlined } from "@ant-design/icons";
import { Alert, App, Button, Flex, Input, Spin, Typography } from "antd";
import { forwardRef, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, type Comment } from "../api";
import { useAsync } from "../lib/useAsync";
import { actionErrorMessage } from "../task/actions";
import { AttachmentLinks } from "./AttachmentLinks";
import { AttachmentUploader } from "./AttachmentUploader";
import { TimeAgo } from "./TimeAgo";

function CommentItem({ comment }: { comment: Comment }) {
  const author = comment.author_name ? `${comment.author_name}（${comment.author}）` : comment.author;
  return (
    <li className="comment">
      <Flex gap={6} wrap align="baseline">
        <Typography.Text strong>{author}</Typography.Text>
        {comment.task_name && <Typography.Text type="secondary">「{comment.task_name}」</Typography.Text>}
        <Typography.Text type="secondary" className="timeline-time">
          <TimeAgo iso={comment.created_at} />
        </Typography.Text>
      </Flex>
      <div className="comment-body">{comment.body}</div>
      <AttachmentLinks refs={comment.attachments ?? []} />
    </li>
  );
}

interface Props {
  instanceId: number;
  /** Comment as part of this task (the task page). */
  taskId?: number;
  canComment: boolean;
  /** After a comment was added: the page refreshes its history. */
  onPosted?: () => void;
}

export const Comments = forwardRef<HTMLTextAreaElement, Props>(function Comments(
  { instanceId, taskId, canComment, onPosted },
  ref,
) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const list = useAsync((signal) => api.comments(instanceId, signal), [instanceId]);
  const [body, setBody] = useState("");
  const [refs, setRefs] = useState<string[]>([]);
  const [uploading, setUploading] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const boxId = useId();
  const uploadId = useId();

  const post = async () => {
    const text = body.trim();
    if (!text) {
      setError(t("comments.empty"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (taskId !== undefined) await api.commentTask(taskId, text, refs);
      else await api.addComment(instanceId, text, refs);
      setBody("");
      setRefs([]);
      message.success(t("comments.posted"));
      list.reload();
      onPosted?.();
    } catch (e) {
      setError(actionErrorMessage(e, t));
    } finally {
      setBusy(false);
    }
  };

  const items = list.data ?? [];
  return (
    <div className="comments">
      {list.error && !list.data ? (
        <Typography.Text type="secondary">{actionErrorMessage(list.error, t)}</Typography.Text>
      ) : !list.data ? (
        <Spin size="small" />
      ) : items.length === 0 ? (
        <Typography.Paragraph type="secondary" className="comments-none">
          {t("comments.none")}
        </Typography.Paragraph>
      ) : (
        <ul className="comment-list" aria-label={t("comments.title")}>
          {items.map((c) => (
            <CommentItem key={c.id} comment={c} />
          ))}
        </ul>
      )}
      {canComment && (
        <form
          className="comment-box"
          onSubmit={(e) => {
            e.preventDefault();
            void post();
          }}
        >
          <label htmlFor={boxId} className="comment-label">
            {t("comments.add")}
          </label>
          <Input.TextArea
            id={boxId}
            ref={ref as never}
            rows={3}
            maxLength={4000}
            value={body}
            onChange={(e) => {
              setBody(e.target.value);
              if (error) setError(null);
            }}
            placeholder={t("comments.placeholder")}
            status={error ? "error" : undefined}
            aria-invalid={!!error}
          />
          {error && <Alert type="error" showIcon role="alert" message={error} className="comment-error" />}
          <Flex justify="space-between" align="start" gap={8} wrap className="comment-actions">
            <AttachmentUploader
              id={uploadId}
              refs={refs}
              onAdd={(r) => setRefs((list) => (list.includes(r) ? list : [...list, r]))}
              onRemove={(r) => setRefs((list) => list.filter((x) => x !== r))}
              onBusyChange={setUploading}
              disabled={busy}
            />
            <Button
              type="primary"
              htmlType="submit"
              icon={<SendOutlined aria-hidden />}
              loading={busy}
              disabled={uploading}
            >
              {uploading ? t("attachments.waitForUpload") : t("comments.submit")}
            </Button>
          </Flex>
        </form>
      )}
    </div>
  );
});
