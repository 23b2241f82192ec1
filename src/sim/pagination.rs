//! `page` / `per_page` parsing, page slicing and the `link: rel="next"` header.

use super::reply::FieldError;

pub(crate) const DEFAULT_PER_PAGE: usize = 30;
pub(crate) const MAX_PER_PAGE: usize = 100;

/// One page request, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) page: usize,
    pub(crate) per_page: usize,
}

/// Reads `page` and `per_page` from the query; both must be positive
/// integers, `per_page` at most 100.
pub(crate) fn parse(params: &[(String, String)]) -> Result<PageRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let page = match first(params, "page") {
        None => 1,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                errors.push(FieldError::invalid_value(
                    "page",
                    "It should be a Positive Integer",
                ));
                1
            }
        },
    };
    let per_page = match first(params, "per_page") {
        None => DEFAULT_PER_PAGE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => n,
            _ => {
                errors.push(FieldError::invalid_value(
                    "per_page",
                    "It should be a Positive Integer less than or equal to 100",
                ));
                DEFAULT_PER_PAGE
            }
        },
    };
    if errors.is_empty() {
        Ok(PageRequest { page, per_page })
    } else {
        Err(errors)
    }
}

/// The items of the requested page and whether a later page has any.
pub(crate) fn slice<T>(items: &[T], request: PageRequest) -> (&[T], bool) {
    let start = (request.page - 1).saturating_mul(request.per_page);
    if start >= items.len() {
        return (&[], false);
    }
    let end = start.saturating_add(request.per_page).min(items.len());
    (&items[start..end], end < items.len())
}

/// `<{base}{path}?page=N+1&per_page=P&other=params>; rel="next"`, the other
/// query parameters kept in their order.
pub(crate) fn next_link(base: &str, path: &str, params: &[(String, String)], request: PageRequest) -> String {
    let mut query = format!("page={}&per_page={}", request.page + 1, request.per_page);
    for (key, value) in params {
        if key != "page" && key != "per_page" {
            query.push('&');
            query.push_str(&encode(key));
            query.push('=');
            query.push_str(&encode(value));
        }
    }
    format!("<{base}{path}?{query}>; rel=\"next\"")
}

pub(crate) fn first<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn page_parameters_are_validated() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<(usize, usize), &'a str>);
        let table: [Case; 8] = [
            (&[], Ok((1, 30))),
            (&[("page", "3"), ("per_page", "100")], Ok((3, 100))),
            (&[("per_page", "1")], Ok((1, 1))),
            (&[("per_page", "101")], Err("per_page")),
            (&[("per_page", "0")], Err("per_page")),
            (&[("per_page", "ten")], Err("per_page")),
            (&[("page", "0")], Err("page")),
            (&[("page", "-1")], Err("page")),
        ];
        for (query, expected) in table {
            let got = parse(&params(query))
                .map(|r| (r.page, r.per_page))
                .map_err(|errors| errors[0].field.clone());
            assert_eq!(got, expected.map_err(str::to_owned), "{query:?}");
        }
    }

    #[test]
    fn slices_and_reports_a_next_page() {
        let items: Vec<u32> = (0..5).collect();
        let page = |page, per_page| slice(&items, PageRequest { page, per_page });
        assert_eq!(page(1, 2), (&[0, 1][..], true));
        assert_eq!(page(3, 2), (&[4][..], false));
        assert_eq!(page(1, 5), (&[0, 1, 2, 3, 4][..], false));
        assert_eq!(page(4, 2), (&[][..], false));
        assert_eq!(page(usize::MAX, 100), (&[][..], false));
    }

    #[test]
    fn link_keeps_other_parameters() {
        let query = params(&[("email", "a+b@x.test"), ("page", "1"), ("only", "availability")]);
        let request = PageRequest {
            page: 1,
            per_page: 10,
        };
        assert_eq!(
            next_link("http://127.0.0.1:9", "/api/v2/agents", &query, request),
            "<http://127.0.0.1:9/api/v2/agents?page=2&per_page=10&email=a%2Bb%40x.test\
             &only=availability>; rel=\"next\""
        );
    }
}
