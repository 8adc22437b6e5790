//! Forms that keep what was typed (issue #16 item 1). When a page form is refused, the page
//! shown again has the submitted form filled in with what the user sent, the error next to the
//! field it concerns, and an error summary at the top linking to that field (the GOV.UK
//! error-summary pattern). One middleware does this for every page form, so no handler or
//! template re-implements it:
//!
//! - the request's form fields are read (URL-encoded bodies up to [`MAX_FORM`]; a handler that
//!   reads a multipart form itself hands its text fields over as a [`Typed`] extension);
//! - a refused page (an HTML response with a 4xx status) is rewritten: the form that was sent is
//!   found by its `action` and its hidden fields (the command, the item it concerns), and its
//!   visible fields get the typed values back. Passwords and files are never sent back;
//! - the handler names the field the refusal is about with a [`Refused`] extension (from the
//!   core's `Refusal::Invalid { field }`, which the API reports as `detail.field`); without one,
//!   the message goes to the top of the form.
//!
//! The summary itself (`templates/error_summary.html`) is rendered by every page with an
//! `error`; this module only points its link at the field and marks the field.

use std::cell::RefCell;
use std::rc::Rc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use lol_html::html_content::{ContentType, Element};
use lol_html::{RewriteStrSettings, element, rewrite_str, text};

/// The largest URL-encoded form body read here (the calendar form's TOML is the largest page
/// form); a larger or unsized body is passed on untouched and not refilled.
pub const MAX_FORM: u64 = 1024 * 1024;
/// The largest page rewritten (pages are far smaller; a larger one is passed on as it is).
const MAX_PAGE: usize = 4 * 1024 * 1024;

/// The text fields of a form a handler read itself (a multipart form), to fill in again.
#[derive(Clone, Debug, Default)]
pub struct Typed(pub Vec<(String, String)>);

/// What a refusal is about: the command's field (`score`, `facts.beds`, `visit_on`) and the
/// message, to show at that field.
#[derive(Clone, Debug)]
pub struct Refused {
    pub field: String,
    pub message: String,
}

impl Refused {
    /// The field an API error names (`detail.field`), if any.
    pub fn of(e: &crate::error::ApiError) -> Option<Refused> {
        let field = e.detail.as_ref()?.get("field")?.as_str()?;
        Some(Refused { field: field.to_owned(), message: e.message.clone() })
    }
}

/// Adds what a refusal is about to its page, when the error names a field.
pub fn at_field(mut page: Response, e: &crate::error::ApiError) -> Response {
    if let Some(r) = Refused::of(e) {
        page.extensions_mut().insert(r);
    }
    page
}

/// The middleware: reads a page form's fields, and fills them into the page of a refusal.
pub async fn keep_typed(req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let urlencoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let sized = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n <= MAX_FORM);
    let (req, mut pairs) = if urlencoded && sized {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, MAX_FORM as usize).await {
            Ok(bytes) => {
                let pairs: Vec<(String, String)> = form_urlencoded(&bytes);
                (Request::from_parts(parts, Body::from(bytes)), pairs)
            }
            // The body ended early: the handler sees the same failure.
            Err(_) => (Request::from_parts(parts, Body::empty()), Vec::new()),
        }
    } else {
        (req, Vec::new())
    };
    let resp = next.run(req).await;
    if !resp.status().is_client_error() {
        return resp;
    }
    let html = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !html {
        return resp;
    }
    if let Some(Typed(typed)) = resp.extensions().get::<Typed>() {
        pairs = typed.clone();
    }
    let refused = resp.extensions().get::<Refused>().cloned();
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE).await else {
        return error_after_rewrite(parts);
    };
    let page = String::from_utf8_lossy(&bytes);
    let out = refill(&page, &path, &pairs, refused.as_ref()).unwrap_or_else(|| page.into_owned());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    Response::from_parts(parts, Body::from(out))
}

/// A page too large to read again (never one of ours): a plain refusal page instead.
fn error_after_rewrite(parts: axum::http::response::Parts) -> Response {
    crate::routes::error_page_with(parts.status, "internal", "请求未能办理，请返回上一页重试。".to_owned())
}

/// `a=1&b=x+y` as pairs, decoded.
fn form_urlencoded(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default()
}

/// What the first pass learns about one form on the page.
#[derive(Default, Debug)]
struct FormSeen {
    action: String,
    /// (name, value) of its hidden fields.
    hidden: Vec<(String, String)>,
    /// (name, id) of its visible fields, in page order.
    fields: Vec<(String, String)>,
    id: Option<String>,
}

/// Fields that identify a form without being what the user typed.
fn identifies(name: &str) -> bool {
    name != "expected_version:int"
}

/// The field's path without its type (`facts.beds:int` → `facts.beds`).
fn path_of(name: &str) -> &str {
    name.split_once(':').map(|(p, _)| p).unwrap_or(name)
}

/// Whether a form field carries the command field a refusal names (`facts` carries
/// `facts.beds`; `facts.pharmacists` carries `facts.pharmacists[1].contract_start`).
fn carries(name: &str, field: &str) -> bool {
    let p = path_of(name);
    let field = field.split('[').next().unwrap_or(field);
    p == field || p.starts_with(&format!("{field}.")) || field.starts_with(&format!("{p}."))
}

/// The page with the sent form filled in, or `None` when no form on it was the one sent.
pub fn refill(page: &str, action: &str, pairs: &[(String, String)], refused: Option<&Refused>) -> Option<String> {
    // Pass 1: the forms on the page and their fields.
    let forms: Rc<RefCell<Vec<FormSeen>>> = Rc::default();
    let current: Rc<RefCell<Option<usize>>> = Rc::default();
    let summary_text: Rc<RefCell<String>> = Rc::default();
    {
        let (f1, c1) = (forms.clone(), current.clone());
        let (f2, c2) = (forms.clone(), current.clone());
        let s1 = summary_text.clone();
        rewrite_str(
            page,
            RewriteStrSettings {
                element_content_handlers: vec![
                    element!("form", move |el| {
                        let mut list = f1.borrow_mut();
                        list.push(FormSeen {
                            action: el.get_attribute("action").unwrap_or_default(),
                            id: el.get_attribute("id"),
                            ..FormSeen::default()
                        });
                        *c1.borrow_mut() = Some(list.len() - 1);
                        let c = c1.clone();
                        if let Some(h) = el.end_tag_handlers() {
                            h.push(end_handler(move || {
                                *c.borrow_mut() = None;
                                Ok(())
                            }));
                        }
                        Ok(())
                    }),
                    element!("input, textarea, select", move |el| {
                        let Some(i) = *c2.borrow() else { return Ok(()) };
                        let Some(name) = el.get_attribute("name") else { return Ok(()) };
                        let ty = el.get_attribute("type").unwrap_or_default();
                        let mut list = f2.borrow_mut();
                        if ty == "hidden" {
                            list[i].hidden.push((name, el.get_attribute("value").unwrap_or_default()));
                        } else if !matches!(ty.as_str(), "submit" | "button") {
                            list[i].fields.push((name, el.get_attribute("id").unwrap_or_default()));
                        }
                        Ok(())
                    }),
                    text!("#error-summary li", move |t| {
                        s1.borrow_mut().push_str(t.as_str());
                        Ok(())
                    }),
                ],
                ..RewriteStrSettings::new()
            },
        )
        .ok()?;
    }
    let forms = forms.take();
    let was_sent = |name: &str| pairs.iter().any(|(k, _)| k == name);
    let sent_as = |name: &str, value: &str| pairs.iter().any(|(k, v)| k == name && v == value);
    // The form sent: its action, and every identifying hidden field it has sent as it is (a
    // form with identifying fields must have sent at least one of them).
    let target = forms.iter().position(|f| {
        let mut ids = f.hidden.iter().filter(|(n, _)| identifies(n)).peekable();
        f.action == action
            && (ids.peek().is_none() || f.hidden.iter().any(|(n, _)| identifies(n) && was_sent(n)))
            && ids.all(|(n, v)| !was_sent(n) || sent_as(n, v))
    })?;
    let seen = &forms[target];
    // The field the refusal is about, or (without one) the form's first field.
    let at_field = refused.and_then(|r| seen.fields.iter().find(|(n, id)| !id.is_empty() && carries(n, &r.field)));
    let message = refused.map(|r| r.message.clone()).unwrap_or_else(|| summary_text.take().trim().to_owned());
    let anchor = at_field
        .map(|(_, id)| id.clone())
        .or_else(|| seen.fields.iter().find(|(_, id)| !id.is_empty()).map(|(_, id)| id.clone()))
        .or_else(|| seen.id.clone());
    let error_field = at_field.map(|(n, _)| n.clone());

    // Pass 2: fill the form in, mark the field, point the summary at it.
    let index = Rc::new(RefCell::new(0usize));
    let inside: Rc<RefCell<bool>> = Rc::default();
    let select: Rc<RefCell<Option<String>>> = Rc::default();
    let marked: Rc<RefCell<bool>> = Rc::default();
    let pairs: Rc<Vec<(String, String)>> = Rc::new(pairs.to_vec());
    let (i1, in1) = (index.clone(), inside.clone());
    let (in2, p2, m2, sel2) = (inside.clone(), pairs.clone(), marked.clone(), select.clone());
    let (in3, p3, sel3) = (inside.clone(), pairs.clone(), select.clone());
    let (msg1, msg2) = (message.clone(), message.clone());
    let anchor1 = anchor.clone();
    let no_field = error_field.is_none();
    let out = rewrite_str(
        page,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("form", move |el| {
                    let mine = *i1.borrow() == target;
                    *i1.borrow_mut() += 1;
                    if !mine {
                        return Ok(());
                    }
                    *in1.borrow_mut() = true;
                    if no_field && !msg1.is_empty() {
                        el.prepend(&format!(r#"<p class="field-message" id="form-error">{}</p>"#, escape(&msg1)), ContentType::Html);
                        el.set_attribute("aria-describedby", "form-error")?;
                    }
                    let flag = in1.clone();
                    if let Some(h) = el.end_tag_handlers() {
                        h.push(end_handler(move || {
                            *flag.borrow_mut() = false;
                            Ok(())
                        }));
                    }
                    Ok(())
                }),
                element!("input, textarea, select", move |el| {
                    if !*in2.borrow() {
                        return Ok(());
                    }
                    let Some(name) = el.get_attribute("name") else { return Ok(()) };
                    let ty = el.get_attribute("type").unwrap_or_default();
                    fill(el, &name, &ty, &p2, &sel2);
                    if error_field.as_deref() == Some(name.as_str()) && !*m2.borrow() && ty != "hidden" {
                        *m2.borrow_mut() = true;
                        el.set_attribute("aria-invalid", "true")?;
                        el.set_attribute("aria-describedby", "field-error")?;
                        el.before(&format!(r#"<p class="field-message" id="field-error">{}</p>"#, escape(&msg2)), ContentType::Html);
                    }
                    Ok(())
                }),
                element!("option", move |el| {
                    if !*in3.borrow() {
                        return Ok(());
                    }
                    let Some(name) = sel3.borrow().clone() else { return Ok(()) };
                    let value = el.get_attribute("value").unwrap_or_default();
                    if p3.iter().any(|(k, _)| *k == name) {
                        if p3.iter().any(|(k, v)| *k == name && *v == value) {
                            el.set_attribute("selected", "")?;
                        } else {
                            el.remove_attribute("selected");
                        }
                    }
                    Ok(())
                }),
                element!("#error-summary a", move |el| {
                    if let Some(a) = &anchor1 {
                        el.set_attribute("href", &format!("#{a}"))?;
                    }
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .ok()?;
    Some(out)
}

/// Puts the typed value back into one field of the sent form.
fn fill(el: &mut Element, name: &str, ty: &str, pairs: &[(String, String)], select: &Rc<RefCell<Option<String>>>) {
    let last = pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match (el.tag_name().as_str(), ty) {
        // Never sent back: hidden fields are the page's own, passwords are typed again, files
        // cannot be.
        ("input", "hidden" | "password" | "file" | "submit" | "button") => {}
        ("input", "checkbox" | "radio") => {
            let value = el.get_attribute("value").unwrap_or_else(|| "on".to_owned());
            // Only a field the form sent is changed (an unchecked box sends nothing: its
            // hidden twin `false` does, so the box is cleared).
            if pairs.iter().any(|(k, _)| k == name) {
                if pairs.iter().any(|(k, v)| k == name && *v == value) {
                    let _ = el.set_attribute("checked", "");
                } else {
                    el.remove_attribute("checked");
                }
            }
        }
        ("input", _) => {
            if let Some(v) = last {
                let _ = el.set_attribute("value", v);
            }
        }
        ("textarea", _) => {
            if let Some(v) = last {
                el.set_inner_content(v, ContentType::Text);
            }
        }
        ("select", _) => {
            *select.borrow_mut() = Some(name.to_owned());
            let s = select.clone();
            if let Some(h) = el.end_tag_handlers() {
                h.push(end_handler(move || {
                    *s.borrow_mut() = None;
                    Ok(())
                }));
            }
        }
        _ => {}
    }
}

/// An end-tag handler running `f` (the element's content is over).
fn end_handler(f: impl FnOnce() -> Result<(), Box<dyn std::error::Error + Send + Sync>> + 'static) -> lol_html::EndTagHandler<'static> {
    Box::new(move |_end: &mut lol_html::html_content::EndTag<'_>| f())
}

/// HTML-escapes text for an element's content.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r##"<main><div class="error-summary" id="error-summary"><ul><li><a href="#main">填写有误</a></li></ul></div>
<form method="post" action="/a/act"><input type="hidden" name="command" value="other"><input id="o" name="note"></form>
<form method="post" action="/a/act" id="facts-form"><input type="hidden" name="command" value="update_draft"><input type="hidden" name="expected_version:int" value="3">
<label for="b">床位</label><input id="b" name="facts.beds:int" value="1">
<label for="p">密码</label><input id="p" type="password" name="password">
<input type="hidden" name="facts.x:bool" value="false"><input id="x" type="checkbox" name="facts.x:bool" value="true" checked>
<textarea id="t" name="facts.pharmacists:staff">old</textarea>
<select id="s" name="kind"><option value="a" selected>A</option><option value="b">B</option></select></form></main>"##;

    fn sent() -> Vec<(String, String)> {
        [
            ("command", "update_draft"),
            ("expected_version:int", "3"),
            ("facts.beds:int", "50"),
            ("password", "secret"),
            ("facts.x:bool", "false"),
            ("facts.pharmacists:staff", "张三, 2025年3月1日 <b>"),
            ("kind", "b"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
    }

    #[test]
    fn the_sent_form_gets_what_was_typed_and_the_error_at_its_field() {
        let refused = Refused { field: "facts.pharmacists[0].contract_start".into(), message: "日期有误".into() };
        let out = refill(PAGE, "/a/act", &sent(), Some(&refused)).expect("the form is found");
        assert!(out.contains(r#"name="facts.beds:int" value="50""#), "{out}");
        assert!(!out.contains("secret"), "a password is never sent back");
        assert!(out.contains(r#"id="x" type="checkbox" name="facts.x:bool" value="true">"#), "unticked: {out}");
        assert!(out.contains("张三, 2025年3月1日 &lt;b&gt;</textarea>"), "{out}");
        assert!(out.contains(r#"<option value="b" selected="">"#) && !out.contains(r#"<option value="a" selected>"#), "{out}");
        assert!(out.contains(r##"<a href="#t">"##), "the summary links to the field: {out}");
        assert!(out.contains(r#"<p class="field-message" id="field-error">日期有误</p><textarea id="t" name="facts.pharmacists:staff" aria-invalid="true""#), "{out}");
        // The other form on the page is untouched.
        assert!(out.contains(r#"<input id="o" name="note">"#));
    }

    #[test]
    fn without_a_field_the_message_goes_to_the_top_of_the_form() {
        let out = refill(PAGE, "/a/act", &sent(), None).expect("the form is found");
        assert!(out.contains(r#"<p class="field-message" id="form-error">填写有误</p>"#), "{out}");
        assert!(out.contains(r##"<a href="#b">"##), "the summary links to the first field: {out}");
    }

    #[test]
    fn a_form_not_on_the_page_changes_nothing() {
        assert!(refill(PAGE, "/elsewhere", &sent(), None).is_none());
        let mut other = sent();
        other[0].1 = "withdraw".into();
        assert!(refill(PAGE, "/a/act", &other, None).is_none(), "no form sends that command");
    }
}
