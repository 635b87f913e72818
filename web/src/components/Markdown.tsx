import ReactMarkdown, { type Components } from "react-markdown";

// Instructions come from process models: render Markdown, never raw HTML (skipHtml), and keep
// links from taking over the tab. react-markdown also drops javascript: and similar URLs.
const components: Components = {
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow">
      {children}
    </a>
  ),
  // Headings inside a card: keep them modest and below the page's own h1/h2.
  h1: ({ children }) => <h3>{children}</h3>,
  h2: ({ children }) => <h3>{children}</h3>,
  h3: ({ children }) => <h4>{children}</h4>,
};

export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown skipHtml components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
