/**
 * Safety of narrative XHTML (R4 narrative.html#xhtml, invariants txt-1 and txt-2, which
 * @medplum/core evaluates as always true). A narrative is shown to clinicians in a browser, so
 * active content in it is stored cross-site scripting. The check is an allow-list, after the
 * reference validator's: the content must be well-formed XML, one <div> in the XHTML namespace,
 * holding only the basic HTML formatting elements and attributes, with URLs only of the schemes
 * listed here. Anything the tokenizer cannot read with certainty is refused rather than guessed,
 * including the XML constructs that an HTML parser would read differently from an XML one
 * (CDATA sections, processing instructions, '--' in comments), since a browser may be the one
 * that reads it.
 */
import { error, type ValidationIssue } from './issue.js';
import { NARRATIVE_NESTING_DEPTH_MAX } from '../../ledger/index.js';

export const XHTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

/** The elements FHIR narrative allows (the HTML 4.0 formatting elements, links, images), as the reference validator lists them. */
const ALLOWED_ELEMENTS = new Set([
  'p',
  'br',
  'div',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'a',
  'span',
  'b',
  'em',
  'i',
  'strong',
  'small',
  'big',
  'tt',
  'dfn',
  'q',
  'var',
  'abbr',
  'acronym',
  'cite',
  'blockquote',
  'hr',
  'address',
  'bdo',
  'kbd',
  'sub',
  'sup',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'pre',
  'table',
  'caption',
  'colgroup',
  'col',
  'thead',
  'tr',
  'tfoot',
  'tbody',
  'th',
  'td',
  'code',
  'samp',
  'img',
  'map',
  'area',
]);
/** Elements that run code, load documents, take input or restyle the page: refused as 'security'. */
const ACTIVE_ELEMENTS = new Set([
  'script',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'form',
  'input',
  'button',
  'select',
  'textarea',
  'option',
  'style',
  'link',
  'meta',
  'base',
  'svg',
  'math',
  'template',
  'noscript',
  'html',
  'head',
  'body',
  'title',
  'audio',
  'video',
  'source',
  'track',
  'canvas',
  'portal',
  'dialog',
  'marquee',
  'xml',
]);
/** Other HTML element names, which may be named in a diagnostic since they are vocabulary rather than content. */
const OTHER_HTML_ELEMENTS = new Set([
  'font',
  'center',
  'u',
  's',
  'strike',
  'blink',
  'label',
  'fieldset',
  'legend',
  'section',
  'article',
  'nav',
  'header',
  'footer',
  'main',
  'figure',
  'figcaption',
  'mark',
  'details',
  'summary',
  'picture',
]);
/** Attributes any allowed element may carry. */
const GLOBAL_ATTRIBUTES = new Set([
  'title',
  'style',
  'class',
  'id',
  'lang',
  'xml:lang',
  'dir',
  'accesskey',
  'tabindex',
  'span',
  'width',
  'align',
  'valign',
  'char',
  'charoff',
  'abbr',
  'axis',
  'headers',
  'scope',
  'rowspan',
  'colspan',
]);
/** Attributes allowed on one element only, as 'element.attribute'. */
const ELEMENT_ATTRIBUTES = new Set([
  'a.href',
  'a.name',
  'a.charset',
  'a.type',
  'a.hreflang',
  'a.rel',
  'a.rev',
  'a.shape',
  'a.coords',
  'img.src',
  'img.alt',
  'img.longdesc',
  'img.height',
  'img.width',
  'img.usemap',
  'img.ismap',
  'img.border',
  'map.name',
  'area.shape',
  'area.coords',
  'area.href',
  'area.nohref',
  'area.alt',
  'blockquote.cite',
  'q.cite',
  'table.summary',
  'table.width',
  'table.border',
  'table.frame',
  'table.rules',
  'table.cellspacing',
  'table.cellpadding',
  'pre.space',
  'td.nowrap',
]);
const URL_ATTRIBUTES = new Set(['href', 'src', 'cite', 'longdesc', 'usemap']);
/** URL schemes a narrative may link to or load from; relative references (no scheme) are allowed too. */
const ALLOWED_URL_SCHEMES = new Set(['http', 'https', 'mailto', 'tel', 'urn', 'ftp']);
/** Schemes that run code or smuggle a document, which a diagnostic may name. */
const ACTIVE_URL_SCHEMES = new Set([
  'javascript',
  'vbscript',
  'data',
  'livescript',
  'mocha',
  'blob',
  'file',
  'jar',
]);
/** Text in a style attribute that can run code or hide it (IE expressions, bindings, CSS escapes and comments). */
const ACTIVE_STYLE_PATTERN = /expression|javascript|vbscript|binding|behavior|@import|\\|\/\*/i;
/** The five XML entities, the only named references allowed where they could hide a URL scheme or style. */
const XML_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);
const REFERENCE_PATTERN = /&(?:#(\d{1,7})|#x([0-9A-Fa-f]{1,6})|([A-Za-z][A-Za-z0-9]{0,31}));/g;
const AMPERSAND_PATTERN = /&(?!(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});)/;
const NAME = '[A-Za-z_][A-Za-z0-9_.:-]*';
const START_TAG_NAME = new RegExp(`<(${NAME})`, 'y');
const ATTRIBUTE = new RegExp(`\\s+(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'y');
const START_TAG_END = /\s*(\/?)>/y;
const END_TAG = new RegExp(`</(${NAME})\\s*>`, 'y');

/** Thrown inside the tokenizer when the XHTML cannot be read; caught and reported as one issue. */
class Malformed extends Error {}

/**
 * Checks the XHTML of a Narrative.div. Returns every safety issue found, or one 'structure'
 * issue when the content is not well-formed XHTML. `expression` is the FHIRPath of the div.
 */
export function checkNarrative(xhtml: string, expression: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  try {
    new NarrativeReader(xhtml, expression, issues).read();
  } catch (caught) {
    if (!(caught instanceof Malformed)) throw caught;
    issues.push(
      error('structure', expression, `narrative is not well-formed XHTML: ${caught.message}`),
    );
  }
  return dedupe(issues);
}

class NarrativeReader {
  private readonly open: string[] = [];
  private position = 0;
  private rootSeen = false;
  private hasContent = false;

  constructor(
    private readonly xhtml: string,
    private readonly expression: string,
    private readonly issues: ValidationIssue[],
  ) {}

  read(): void {
    const xhtml = this.xhtml;
    while (this.position < xhtml.length) {
      const tag = xhtml.indexOf('<', this.position);
      this.readText(xhtml.slice(this.position, tag === -1 ? xhtml.length : tag));
      if (tag === -1) break;
      this.position = tag;
      if (xhtml.startsWith('<!--', tag)) this.readComment();
      else if (xhtml.startsWith('<!', tag) || xhtml.startsWith('<?', tag))
        return this.refuse(
          'security',
          'narrative contains a CDATA section, DOCTYPE or processing instruction, which browsers and XML parsers read differently',
        );
      else if (xhtml.startsWith('</', tag)) this.readEndTag();
      else this.readStartTag();
    }
    if (this.open.length > 0) throw new Malformed('an element is not closed');
    if (!this.rootSeen)
      return this.refuse(
        'structure',
        `narrative must be a <div xmlns="${XHTML_NAMESPACE}"> element`,
      );
    if (!this.hasContent)
      this.refuse('invariant', 'narrative must have some non-whitespace content (txt-2)');
  }

  private refuse(code: ValidationIssue['code'], diagnostics: string): void {
    this.issues.push(error(code, this.expression, diagnostics));
  }

  private readText(text: string): void {
    if (text.length === 0) return;
    if (AMPERSAND_PATTERN.test(text))
      throw new Malformed("an '&' does not start a character reference");
    decodeReferences(text, true);
    if (!/\S/.test(text)) return;
    if (this.open.length === 0) throw new Malformed('there is text outside the root <div>');
    this.hasContent = true;
  }

  private readComment(): void {
    const end = this.xhtml.indexOf('-->', this.position + 4);
    if (end === -1) throw new Malformed('a comment is not closed');
    const body = this.xhtml.slice(this.position + 4, end);
    // XML forbids '--' in a comment; HTML also ends a comment at '--!>' or at '<!-->', so refuse what could end early.
    if (body.includes('--') || body.startsWith('>') || body.startsWith('->') || body.endsWith('-'))
      throw new Malformed("a comment contains '--'");
    this.position = end + 3;
  }

  private readEndTag(): void {
    END_TAG.lastIndex = this.position;
    const match = END_TAG.exec(this.xhtml);
    if (match === null || this.open.pop() !== match[1])
      throw new Malformed('an end tag does not match its start tag');
    this.position = END_TAG.lastIndex;
  }

  private readStartTag(): void {
    START_TAG_NAME.lastIndex = this.position;
    const name = START_TAG_NAME.exec(this.xhtml)?.[1];
    if (name === undefined) throw new Malformed("a '<' does not start a tag");
    let position = START_TAG_NAME.lastIndex;
    const attributes = new Map<string, string>();
    for (;;) {
      ATTRIBUTE.lastIndex = position;
      const attribute = ATTRIBUTE.exec(this.xhtml);
      if (attribute === null) break;
      const [, attributeName, doubleQuoted, singleQuoted] = attribute;
      if (attributes.has(attributeName!)) throw new Malformed('an element repeats an attribute');
      attributes.set(attributeName!, doubleQuoted ?? singleQuoted ?? '');
      position = ATTRIBUTE.lastIndex;
    }
    START_TAG_END.lastIndex = position;
    const end = START_TAG_END.exec(this.xhtml);
    if (end === null) throw new Malformed('a start tag is not closed');
    this.position = START_TAG_END.lastIndex;
    this.checkElement(name, attributes);
    if (end[1] !== '/') {
      if (this.open.length >= NARRATIVE_NESTING_DEPTH_MAX)
        throw new Malformed(`elements nest deeper than ${NARRATIVE_NESTING_DEPTH_MAX}`);
      this.open.push(name);
    }
  }

  private checkElement(name: string, attributes: ReadonlyMap<string, string>): void {
    if (this.open.length === 0) {
      if (this.rootSeen) throw new Malformed('there is more than one root element');
      this.rootSeen = true;
      if (name !== 'div' || attributes.get('xmlns') !== XHTML_NAMESPACE)
        this.refuse('structure', `narrative must be a <div xmlns="${XHTML_NAMESPACE}"> element`);
    }
    if (name === 'img') this.hasContent = true;
    const lowerName = name.toLowerCase();
    if (ACTIVE_ELEMENTS.has(lowerName))
      this.refuse(
        'security',
        `narrative contains a <${lowerName}> element; FHIR narrative must not contain active content`,
      );
    else if (!ALLOWED_ELEMENTS.has(name))
      this.refuse(
        'invalid',
        `narrative contains ${describeElement(lowerName)}; only basic HTML formatting elements are allowed (txt-1)`,
      );
    for (const [attribute, value] of attributes) this.checkAttribute(name, attribute, value);
  }

  private checkAttribute(element: string, attribute: string, value: string): void {
    // HTML decodes '&#106avascript:' (no ';') as 'javascript:', so a '&' that is not a whole reference is refused here too.
    if (AMPERSAND_PATTERN.test(value))
      throw new Malformed("an '&' does not start a character reference");
    if (/^on/i.test(attribute))
      return this.refuse('security', 'narrative contains an event handler attribute (on*)');
    if (attribute === 'xmlns' || attribute.startsWith('xmlns:')) {
      if (attribute !== 'xmlns' || decodeReferences(value, true) !== XHTML_NAMESPACE)
        this.refuse('security', 'narrative declares a namespace other than XHTML');
      return;
    }
    if (!GLOBAL_ATTRIBUTES.has(attribute) && !ELEMENT_ATTRIBUTES.has(`${element}.${attribute}`)) {
      return this.refuse(
        'invalid',
        `narrative contains an attribute that is not allowed on ${describeElement(element.toLowerCase())} (txt-1)`,
      );
    }
    if (attribute !== 'style' && !URL_ATTRIBUTES.has(attribute)) {
      decodeReferences(value, true);
      return;
    }
    const decoded = decodeReferences(value, false);
    if (decoded === undefined)
      return this.refuse(
        'security',
        `narrative ${attribute} attribute contains a named character reference other than the five XML ones`,
      );
    if (attribute === 'style' && ACTIVE_STYLE_PATTERN.test(decoded))
      this.refuse(
        'security',
        'narrative style attribute contains script, an import, a binding, a CSS escape or a CSS comment',
      );
    if (URL_ATTRIBUTES.has(attribute)) this.checkUrl(attribute, decoded);
  }

  private checkUrl(attribute: string, url: string): void {
    // Browsers drop ASCII whitespace and control characters inside a URL's scheme, so 'java\tscript:' is still javascript:.
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/
      .exec(url.replace(/[\u0000-\u0020\u007F-\u009F]/g, ''))?.[1]
      ?.toLowerCase();
    if (scheme === undefined || ALLOWED_URL_SCHEMES.has(scheme)) return;
    const named = ACTIVE_URL_SCHEMES.has(scheme)
      ? `a ${scheme}: URL`
      : 'a URL scheme other than http, https, mailto, tel, urn and ftp';
    this.refuse('security', `narrative ${attribute} attribute contains ${named}`);
  }
}

function describeElement(lowerName: string): string {
  return ALLOWED_ELEMENTS.has(lowerName) ||
    ACTIVE_ELEMENTS.has(lowerName) ||
    OTHER_HTML_ELEMENTS.has(lowerName)
    ? `a <${lowerName}> element`
    : 'an element unknown to HTML';
}

/**
 * Decodes character references. In text any named reference is accepted (and left as it is);
 * in attributes only the five XML ones are, and undefined is returned for any other, since an
 * HTML parser decodes names such as '&colon;' that an XML parser would not.
 */
function decodeReferences(text: string, anyName: true): string;
function decodeReferences(text: string, anyName: false): string | undefined;
function decodeReferences(text: string, anyName: boolean): string | undefined {
  let unknownName = false;
  const decoded = text.replace(
    REFERENCE_PATTERN,
    (reference, decimal?: string, hex?: string, name?: string) => {
      if (name !== undefined) {
        const character = XML_ENTITIES.get(name);
        if (character === undefined) unknownName = true;
        return character ?? reference;
      }
      const codePoint =
        decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex!, 16);
      if (codePoint === 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff))
        throw new Malformed('a character reference names no character');
      return String.fromCodePoint(codePoint);
    },
  );
  return unknownName && !anyName ? undefined : decoded;
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.code}\u0000${issue.diagnostics}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
