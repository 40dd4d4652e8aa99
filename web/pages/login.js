// Carries ?next= into the form and shows the error of a failed attempt.
'use strict';
const params = new URLSearchParams(location.search);
const next = params.get('next');
if (next && next.startsWith('/') && !next.startsWith('//')) document.getElementById('next').value = next;
document.getElementById('error').hidden = params.get('error') !== '1';
